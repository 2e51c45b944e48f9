#!/usr/bin/env python3
"""Checks that the native libraries of an AAR are Android (bionic) ELF shared objects.

    android_elf.py check <jni dir>              every ABI has jni/<abi>/libsession_ffi.so built
                                                for Android and the right machine; exit 1 if not
    android_elf.py write-fixture <path> <abi>   writes a minimal Android-style ELF shared object
                                                (test fixture for `scripts/package-aar --check-refusal`)

An Android library is an ELF shared object (ET_DYN) of the ABI's class and machine whose
dynamic section needs bionic's `libc.so`. A host (glibc) library needs `libc.so.6` (and often
`ld-linux*`, `libgcc_s.so.1`, `libpthread.so.0`) and references `GLIBC_*` symbol versions: it is
refused even under the right ABI directory. Standard library only (no readelf needed).
"""

import struct
import sys
from pathlib import Path

LIBRARY = "libsession_ffi.so"
# ABI directory -> (ELF class: 1 = 32-bit, 2 = 64-bit, e_machine, e_machine name)
ABIS = {
    "arm64-v8a": (2, 183, "EM_AARCH64"),
    "armeabi-v7a": (1, 40, "EM_ARM"),
    "x86_64": (2, 62, "EM_X86_64"),
}
MACHINE_NAMES = {3: "EM_386", 40: "EM_ARM", 62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV"}
GLIBC_LIBRARIES = ("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libgcc_s.so.1")
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME = 0, 1, 5, 10, 14
ET_DYN = 3


class NotAndroid(Exception):
    pass


class Elf:
    """The parts of an ELF file this check needs (little-endian only, as every Android ABI)."""

    def __init__(self, data: bytes):
        if len(data) < 52 or data[:4] != b"\x7fELF":
            raise NotAndroid("not an ELF file")
        self.data = data
        self.elf_class = data[4]
        if data[5] != 1:
            raise NotAndroid("not little-endian")
        if self.elf_class == 2:
            (self.type, self.machine, _, _, phoff, _, _, _, phentsize, phnum) = struct.unpack_from(
                "<HHIQQQIHHH", data, 16
            )
        elif self.elf_class == 1:
            (self.type, self.machine, _, _, phoff, _, _, _, phentsize, phnum) = struct.unpack_from(
                "<HHIIIIIHHH", data, 16
            )
        else:
            raise NotAndroid(f"unknown ELF class {self.elf_class}")
        self.segments = [self._segment(phoff + i * phentsize) for i in range(phnum)]

    def _segment(self, offset):
        if self.elf_class == 2:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from("<IIQQQQQQ", self.data, offset)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = struct.unpack_from("<IIIIIIII", self.data, offset)
        return p_type, p_offset, p_vaddr, p_filesz

    def _file_offset(self, vaddr):
        for p_type, p_offset, p_vaddr, p_filesz in self.segments:
            if p_type == PT_LOAD and p_vaddr <= vaddr < p_vaddr + p_filesz:
                return vaddr - p_vaddr + p_offset
        raise NotAndroid(f"address {vaddr:#x} is not in a loaded segment")

    def interpreter(self):
        for p_type, p_offset, _, p_filesz in self.segments:
            if p_type == PT_INTERP:
                return self.data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode(errors="replace")
        return None

    def dynamic(self):
        """(needed libraries, soname, the whole dynamic string table)."""
        dynamic = [s for s in self.segments if s[0] == PT_DYNAMIC]
        if not dynamic:
            raise NotAndroid("no dynamic section (a static executable, not a shared library)")
        _, offset, _, size = dynamic[0]
        entry = "<qQ" if self.elf_class == 2 else "<iI"
        entry_size = struct.calcsize(entry)
        entries = []
        for at in range(offset, offset + size, entry_size):
            tag, value = struct.unpack_from(entry, self.data, at)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        strsz = next((v for t, v in entries if t == DT_STRSZ), None)
        if strtab is None or strsz is None:
            raise NotAndroid("no dynamic string table")
        start = self._file_offset(strtab)
        strings = self.data[start : start + strsz]

        def string(index):
            return strings[index : strings.index(b"\0", index)].decode(errors="replace")

        needed = [string(v) for t, v in entries if t == DT_NEEDED]
        soname = next((string(v) for t, v in entries if t == DT_SONAME), None)
        return needed, soname, strings

    def android_note(self):
        """The API level of the NDK's `.note.android.ident`, if present (informative)."""
        for p_type, p_offset, _, p_filesz in self.segments:
            if p_type != PT_NOTE:
                continue
            at = p_offset
            while at + 12 <= p_offset + p_filesz:
                namesz, descsz, note_type = struct.unpack_from("<III", self.data, at)
                name = self.data[at + 12 : at + 12 + namesz].rstrip(b"\0")
                desc_at = at + 12 + ((namesz + 3) & ~3)
                if name == b"Android" and note_type == 1 and descsz >= 4:
                    return struct.unpack_from("<I", self.data, desc_at)[0]
                at = desc_at + ((descsz + 3) & ~3)
        return None


def check_library(path: Path, abi: str) -> str:
    """A description of the library if it is an Android library for `abi`; raises otherwise."""
    expected_class, expected_machine, machine_name = ABIS[abi]
    if not path.is_file():
        raise NotAndroid("missing")
    elf = Elf(path.read_bytes())
    bits = {1: "32-bit", 2: "64-bit"}
    if elf.elf_class != expected_class or elf.machine != expected_machine:
        found = MACHINE_NAMES.get(elf.machine, f"e_machine {elf.machine}")
        raise NotAndroid(
            f"built for {found} ({bits.get(elf.elf_class, '?')}), not {machine_name} ({bits[expected_class]})"
        )
    if elf.type != ET_DYN:
        raise NotAndroid(f"not a shared object (e_type {elf.type})")
    interpreter = elf.interpreter()
    if interpreter and "ld-linux" in interpreter:
        raise NotAndroid(f"a glibc program (interpreter {interpreter})")
    needed, soname, strings = elf.dynamic()
    glibc = [lib for lib in needed if lib in GLIBC_LIBRARIES or lib.startswith("ld-linux")]
    if glibc:
        raise NotAndroid(f"a host glibc library (needs {', '.join(glibc)}); Android libraries need bionic's libc.so")
    if b"GLIBC_" in strings:
        raise NotAndroid("a host glibc library (references GLIBC_* symbol versions)")
    if "libc.so" not in needed:
        raise NotAndroid(f"does not need bionic's libc.so (needs: {', '.join(needed) or 'nothing'})")
    note = elf.android_note()
    described = f"{machine_name}, needs {', '.join(needed)}"
    if soname:
        described += f", soname {soname}"
    if note is not None:
        described += f", NDK note: API {note}"
    return described


def check(jni_dir: Path) -> int:
    problems = 0
    for abi in ABIS:
        path = jni_dir / abi / LIBRARY
        try:
            print(f"ok      {abi}/{LIBRARY}: {check_library(path, abi)}")
        except NotAndroid as reason:
            print(f"REFUSED {abi}/{LIBRARY}: {reason}", file=sys.stderr)
            problems += 1
        except (OSError, struct.error) as error:
            print(f"REFUSED {abi}/{LIBRARY}: unreadable ELF ({error})", file=sys.stderr)
            problems += 1
    return 1 if problems else 0


def write_fixture(path: Path, abi: str) -> None:
    """A minimal ELF shared object for `abi` that needs libc.so, as the NDK links it: one PT_LOAD
    segment (loaded at 0), PT_DYNAMIC (DT_NEEDED libc.so, DT_SONAME, DT_STRTAB, DT_STRSZ) and
    the `.note.android.ident` note. Not loadable code: only for testing the check above."""
    elf_class, machine, _ = ABIS[abi]
    wide = elf_class == 2
    ehsize, phentsize = (64, 56) if wide else (52, 32)
    phnum = 3
    strings = b"\0libc.so\0" + LIBRARY.encode() + b"\0"
    note = struct.pack("<III", 8, 4, 1) + b"Android\0" + struct.pack("<I", 24)
    dyn_fmt = "<qQ" if wide else "<iI"
    dyn_entries = [(DT_NEEDED, 1), (DT_SONAME, 9), (DT_STRTAB, 0), (DT_STRSZ, len(strings)), (DT_NULL, 0)]
    dyn_size = struct.calcsize(dyn_fmt) * len(dyn_entries)
    note_at = ehsize + phentsize * phnum
    strings_at = note_at + len(note)
    dynamic_at = (strings_at + len(strings) + 7) & ~7
    total = dynamic_at + dyn_size
    dyn_entries[2] = (DT_STRTAB, strings_at)

    def phdr(p_type, offset, size, flags, align):
        if wide:
            return struct.pack("<IIQQQQQQ", p_type, flags, offset, offset, offset, size, size, align)
        return struct.pack("<IIIIIIII", p_type, offset, offset, offset, size, size, flags, align)

    if wide:
        header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
        header += struct.pack("<HHIQQQIHHHHHH", ET_DYN, machine, 1, 0, ehsize, 0, 0, ehsize, phentsize, phnum, 64, 0, 0)
    else:
        header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
        header += struct.pack("<HHIIIIIHHHHHH", ET_DYN, machine, 1, 0, ehsize, 0, 0x05000000, ehsize, phentsize, phnum, 40, 0, 0)
    data = bytearray(total)
    data[: len(header)] = header
    data[ehsize : ehsize + phentsize * phnum] = (
        phdr(PT_LOAD, 0, total, 5, 0x1000)
        + phdr(PT_DYNAMIC, dynamic_at, dyn_size, 6, 8 if wide else 4)
        + phdr(PT_NOTE, note_at, len(note), 4, 4)
    )
    data[note_at : note_at + len(note)] = note
    data[strings_at : strings_at + len(strings)] = strings
    data[dynamic_at:total] = b"".join(struct.pack(dyn_fmt, tag, value) for tag, value in dyn_entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def main(argv):
    if len(argv) == 3 and argv[1] == "check":
        return check(Path(argv[2]))
    if len(argv) == 4 and argv[1] == "write-fixture" and argv[3] in ABIS:
        write_fixture(Path(argv[2]), argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
