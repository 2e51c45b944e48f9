#!/usr/bin/env bash
# Builds bindings/swift/SessionCoreFFI.xcframework (git-ignored): the Rust `session-ffi` library,
# release flavour (LiveKit transport), as a static library for every Apple platform the package
# supports, with the uniffi header and module map. macOS with Xcode only.
#
#   bindings/swift/build-xcframework.sh [--debug] [--archive] [--test]
#
#   --debug    build with cargo's dev profile instead of --release
#   --archive  also zip the XCFramework and print the `.binaryTarget(url:checksum:)` to publish
#   --test     then run the package's XCTests (`swift test`) on this Mac
#
# Steps:
#   1. `cargo rustc -p session-ffi --features livekit --crate-type staticlib` for
#      aarch64-apple-ios (devices), aarch64-apple-ios-sim + x86_64-apple-ios (simulators) and
#      aarch64-apple-darwin + x86_64-apple-darwin (macOS), with the package's deployment targets;
#   2. lipo: one simulator library and one macOS library, each with both architectures;
#   3. the Swift bindings, generated from this Mac's own build (the metadata is the same in every
#      slice, and the same as `scripts/generate-bindings release` produces elsewhere), written where
#      generate-bindings writes them: Sources/SessionCoreBindings/SessionCoreBindings.swift and the
#      staging directory Sources/SessionCoreFFI/include/{SessionCoreFFI.h,module.modulemap};
#   4. checks: every uniffi function the header declares is defined in every slice, and every
#      framework and library rustc reports (`--print native-static-libs`) is linked by
#      Package.swift for that platform;
#   5. `xcodebuild -create-xcframework`, each slice with Headers/SessionCoreFFI/ holding the header
#      and module.modulemap. (The module map sits in a directory named after the module, which
#      clang searches for `import SessionCoreFFI`; at the root of Headers/ it would collide with
#      other static-library XCFrameworks' module maps when Xcode copies headers into one
#      include directory.)
set -euo pipefail

if [[ $(uname -s) != Darwin ]]; then
  echo "build-xcframework.sh: this builds Apple static libraries and an XCFramework, which needs macOS" >&2
  echo "with Xcode (xcodebuild, lipo, the iOS and macOS SDKs); this machine runs $(uname -s)." >&2
  echo "Here, scripts/check-swift checks the headers, symbols, package layout and Swift syntax instead." >&2
  exit 1
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

profile=release
archive=false
run_tests=false
for argument in "$@"; do
  case $argument in
    --debug) profile=debug ;;
    --archive) archive=true ;;
    --test) run_tests=true ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-xcframework.sh: unknown argument $argument (see --help)" >&2
      exit 2
      ;;
  esac
done

for tool in cargo rustup xcodebuild xcrun lipo nm; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-xcframework.sh: $tool is missing (install Xcode, its command line tools and rustup)" >&2
    exit 1
  fi
done

module=$(sed -n 's/^module_name *= *"\(.*\)"/\1/p' bindings/ffi/uniffi.toml)
ffi_module=$(sed -n 's/^ffi_module_name *= *"\(.*\)"/\1/p' bindings/ffi/uniffi.toml)
package=$here/Package.swift
library=libsession_ffi.a
work=build/apple
xcframework=$here/$ffi_module.xcframework
# The same deployment targets as Package.swift's platforms, for rustc and the C/C++ builds.
export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0

ios=(aarch64-apple-ios)
simulator=(aarch64-apple-ios-sim x86_64-apple-ios)
macos=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("${ios[@]}" "${simulator[@]}" "${macos[@]}")
cargo_profile=(--release)
[[ $profile == debug ]] && cargo_profile=()

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
  if ! grep -qx "$target" <<<"$installed"; then
    rustup target add "$target"
  fi
done

# ---- 1. one static library per target.
mkdir -p "$work/native-static-libs"
for target in "${targets[@]}"; do
  echo "==== session-ffi (release flavour) for $target"
  log=$work/native-static-libs/$target.log
  cargo rustc -p session-ffi --lib --crate-type staticlib --features livekit "${cargo_profile[@]}" \
    --target "$target" -- --print native-static-libs 2>&1 | tee "$log.new"
  # rustc prints the list only when it compiles the crate; keep the last one it printed.
  if grep -q 'native-static-libs:' "$log.new"; then mv "$log.new" "$log"; else rm "$log.new"; fi
done

# ---- 2. one library per platform.
rm -rf "$work/ios" "$work/ios-simulator" "$work/macos"
mkdir -p "$work/ios" "$work/ios-simulator" "$work/macos"
combine() { # <output> <targets...>: one library with every target's architecture
  local output=$1 target inputs=()
  shift
  for target in "$@"; do inputs+=("target/$target/$profile/$library"); done
  if [[ ${#inputs[@]} -eq 1 ]]; then cp "${inputs[0]}" "$output"; else lipo -create "${inputs[@]}" -output "$output"; fi
}
combine "$work/ios/$library" "${ios[@]}"
combine "$work/ios-simulator/$library" "${simulator[@]}"
combine "$work/macos/$library" "${macos[@]}"

# ---- 3. the Swift bindings, from this Mac's build, where scripts/generate-bindings puts them.
echo "==== Swift bindings"
cargo build --quiet -p uniffi-bindgen
host=aarch64-apple-darwin
[[ $(uname -m) == x86_64 ]] && host=x86_64-apple-darwin
generated=build/bindings/release/swift
rm -rf "$generated"
mkdir -p "$generated"
target/debug/uniffi-bindgen generate "target/$host/$profile/$library" --language swift \
  --out-dir "$generated" --no-format >/dev/null
include=$here/Sources/$ffi_module/include
mkdir -p "$here/Sources/$module" "$include"
cp "$generated/$module.swift" "$here/Sources/$module/"
cp "$generated/$ffi_module.h" "$include/"
cp "$generated/$ffi_module.modulemap" "$include/module.modulemap"

# ---- 4. checks.
declared=$(grep -oE '\b(uniffi|ffi)_[A-Za-z0-9_]+\(' "$include/$ffi_module.h" | tr -d '(' | sort -u)
for slice in ios ios-simulator macos; do
  defined=$(nm -gU "$work/$slice/$library" 2>/dev/null | awk 'NF >= 3 { sub(/^_/, "", $3); print $3 }' |
    grep -E '^(uniffi|ffi)_' | sort -u || true)
  missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$defined"))
  if [[ -n $missing ]]; then
    echo "build-xcframework.sh: the $slice library does not define functions its header declares:" >&2
    printf '%s\n' "$missing" >&2
    exit 1
  fi
done

link_gaps=()
declares() { # <kind: linkedFramework|linkedLibrary> <name> <condition>: unconditionally or for the platform
  grep -qF ".$1(\"$2\")" "$package" || grep -qF ".$1(\"$2\", $3)" "$package"
}
check_links() { # <platform condition name in Package.swift> <targets...>
  local condition=$1 target log name
  shift
  for target in "$@"; do
    log=$work/native-static-libs/$target.log
    if [[ ! -f $log ]]; then
      echo "note: no native-static-libs list for $target yet (cargo did not recompile); link check skipped" >&2
      continue
    fi
    for name in $(grep -o 'native-static-libs: .*' "$log" | tail -1 | tr ' ' '\n' | awk 'p == "-framework" { print } { p = $0 }'); do
      declares linkedFramework "$name" "$condition" || link_gaps+=("$target: .linkedFramework(\"$name\", $condition)")
    done
    for name in $(grep -o 'native-static-libs: .*' "$log" | tail -1 | tr ' ' '\n' | sed -n 's/^-l//p'); do
      case $name in System | c | m | objc | resolv | pthread) continue ;; esac # always linked on Apple platforms
      declares linkedLibrary "$name" "$condition" || link_gaps+=("$target: .linkedLibrary(\"$name\", $condition)")
    done
  done
}
check_links onIOS "${ios[@]}" "${simulator[@]}"
check_links onMacOS "${macos[@]}"
if [[ ${#link_gaps[@]} -gt 0 ]]; then
  echo "build-xcframework.sh: Package.swift does not link what rustc says the static library needs:" >&2
  printf '  %s\n' "${link_gaps[@]}" | sort -u >&2
  exit 1
fi

# ---- 5. the XCFramework.
echo "==== $ffi_module.xcframework"
headers=$work/headers
rm -rf "$headers"
mkdir -p "$headers/$ffi_module"
cp "$include/$ffi_module.h" "$include/module.modulemap" "$headers/$ffi_module/"
rm -rf "$xcframework"
xcodebuild -create-xcframework \
  -library "$work/ios/$library" -headers "$headers" \
  -library "$work/ios-simulator/$library" -headers "$headers" \
  -library "$work/macos/$library" -headers "$headers" \
  -output "$xcframework" >/dev/null
echo "built $xcframework"

if $archive; then
  zip=$xcframework.zip
  rm -f "$zip"
  (cd "$here" && ditto -c -k --sequesterRsrc --keepParent "$ffi_module.xcframework" "$zip")
  checksum=$(cd "$here" && swift package compute-checksum "$zip")
  cat <<EOF
built $zip
In the hosting repository's Package.swift, after uploading the zip to the release:
    .binaryTarget(
        name: "$ffi_module",
        url: "https://github.com/<org>/<hosting-repo>/releases/download/<version>/$ffi_module.xcframework.zip",
        checksum: "$checksum"
    )
EOF
fi

if $run_tests; then
  echo "==== swift test"
  swift test --package-path "$here"
fi
