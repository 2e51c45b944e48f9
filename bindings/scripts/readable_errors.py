#!/usr/bin/env python3
"""Makes the generated error types describe themselves with the Rust message.

uniffi 0.32 generates, for an error enum with fields,
  - Kotlin: `override val message get() = "reason=${reason}, tokenSource=${tokenSource}"`
    (a field dump), while `toString()` is the Rust `Display` when the enum exports it;
  - Swift: `errorDescription` (hence `localizedDescription`) as `String(reflecting: self)`
    (a mirror dump), while `description` is the Rust `Display`.
What people read (a Toast with `message`, an alert with `localizedDescription`) must be the
sentence Rust writes (bindings/ffi/src/error.rs), so this rewrites those two members to
return the Rust `Display`. It is part of scripts/generate-bindings (the generated files are
never edited by hand) and refuses an error type that does not export `Display`, since its
message could then only be a dump.

  readable_errors.py kotlin <file.kt>...
  readable_errors.py swift <file.swift>...

Exits non-zero (and changes nothing) if an expected pattern is missing: a uniffi upgrade that
changes the templates must be noticed, not silently produce dumps again.
"""

import re
import sys

# A non-flat Kotlin error starts with `sealed class FooException: kotlin.Exception() {`; a Swift
# error with `enum FooError: Swift.Error, …, Foundation.LocalizedError {`. Each ends where its FFI
# converter starts (the generated code's indentation cannot be trusted to find the closing brace).
KOTLIN_ERROR = re.compile(r"^sealed class (\w+): kotlin\.Exception\(\)[^\n]*\{\n", re.M)
KOTLIN_END = "\npublic object FfiConverterType"
KOTLIN_MESSAGE = re.compile(r"(override val message\n\s*get\(\) = )\"[^\"\n]*\"")
KOTLIN_DISPLAY = "_uniffi_trait_display("

SWIFT_ERROR = re.compile(r"^enum (\w+): Swift\.Error,[^\n]*Foundation\.LocalizedError \{\n", re.M)
SWIFT_END = "\npublic struct FfiConverterType"
SWIFT_REFLECTING = re.compile(r"(public var errorDescription: String\? \{\n\s*)String\(reflecting: self\)")
SWIFT_DISPLAY = "public var description: String {"


def fail(message: str) -> None:
    print(f"readable_errors.py: {message}", file=sys.stderr)
    sys.exit(1)


def patch_blocks(text: str, path: str, start: re.Pattern, end: str, display: str,
                 member: re.Pattern, replacement: str, what: str) -> str:
    """Rewrites `member` to `replacement` in every block from `start` to `end`."""
    out, position, found = [], 0, 0
    for match in start.finditer(text):
        if match.start() < position:
            continue
        name = match.group(1)
        stop = text.find(end, match.end())
        if stop < 0:
            fail(f"{path}: {name}: its end was not found (did the uniffi template change?)")
        body = text[match.end():stop]
        if display not in body:
            fail(f"{path}: {name} has no Rust Display: add #[uniffi::export(Display)] to its enum")
        patched, count = member.subn(replacement, body)
        if count == 0:
            fail(f"{path}: {name}: no generated {what} found (did the uniffi template change?)")
        out.append(text[position:match.end()])
        out.append(patched)
        position, found = stop, found + 1
    if found == 0:
        fail(f"{path}: no error types found (did the uniffi template change?)")
    out.append(text[position:])
    return "".join(out)


def patch_kotlin(text: str, path: str) -> str:
    return patch_blocks(text, path, KOTLIN_ERROR, KOTLIN_END, KOTLIN_DISPLAY, KOTLIN_MESSAGE,
                        r"\1toString()", "`message`")


def patch_swift(text: str, path: str) -> str:
    return patch_blocks(text, path, SWIFT_ERROR, SWIFT_END, SWIFT_DISPLAY, SWIFT_REFLECTING,
                        r"\1description", "`errorDescription`")


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("kotlin", "swift"):
        fail("usage: readable_errors.py kotlin|swift <file>...")
    patch = patch_kotlin if sys.argv[1] == "kotlin" else patch_swift
    results = []
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as file:
            results.append((path, patch(file.read(), path)))
    for path, text in results:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)


if __name__ == "__main__":
    main()
