// swift-tools-version:5.9
//
// SessionCore: LiveKit agent sessions and token sources for iOS and macOS, backed by the Rust
// `session-ffi` library (bindings/ffi).
//
// Targets, bottom to top:
//   SessionCoreFFI       binary target: the Rust static library for every Apple platform, with
//                        the uniffi C header and `module.modulemap` (module `SessionCoreFFI`) in
//                        each slice's Headers/SessionCoreFFI/. Built by build-xcframework.sh.
//   SessionCoreBindings  the uniffi-generated Swift (`scripts/generate-bindings release` or
//                        build-xcframework.sh writes it; never edited by hand).
//   SessionCore          the hand-written Swift API (`Session`, `TokenSource.custom { … }`, …);
//                        re-exports SessionCoreBindings, so apps `import SessionCore` only.
//
// None of the module names clash with LiveKit's own (`LiveKit`, `LiveKitComponents`), so an app
// can depend on both.
//
// The generated Swift needs a Swift 5.10 compiler or newer (Xcode 15.3+): it uses
// `nonisolated(unsafe)`.

import PackageDescription

// Development: the XCFramework that `./build-xcframework.sh` builds next to this file
// (git-ignored).
//
// Release: this package is published from a hosting repository (SwiftPM needs Package.swift at a
// repository root), where the binary target is the zipped XCFramework attached to the release:
//
//   .binaryTarget(
//       name: "SessionCoreFFI",
//       url: "https://github.com/<org>/<hosting-repo>/releases/download/<version>/SessionCoreFFI.xcframework.zip",
//       checksum: "<the output of `swift package compute-checksum SessionCoreFFI.xcframework.zip`>"
//   )
//
// `./build-xcframework.sh --archive` writes the zip and prints that checksum.
let ffi: Target = .binaryTarget(name: "SessionCoreFFI", path: "SessionCoreFFI.xcframework")

// What the static library needs from the system: libwebrtc's frameworks (as webrtc-sys links them
// for each platform), Security and CoreFoundation for TLS, the C++ runtime and libiconv (Rust's std). A static library
// carries no link requirements of its own, so they are declared here; build-xcframework.sh
// compares them with what rustc reports (`--print native-static-libs`) and fails on a gap.
let onIOS: BuildSettingCondition = .when(platforms: [.iOS])
let onMacOS: BuildSettingCondition = .when(platforms: [.macOS])
let systemLibraries: [LinkerSetting] = [
    .linkedLibrary("c++"),
    .linkedLibrary("iconv"),
    .linkedFramework("Foundation"),
    .linkedFramework("CoreFoundation"),
    .linkedFramework("Security"),
    .linkedFramework("AVFoundation"),
    .linkedFramework("AudioToolbox"),
    .linkedFramework("CoreAudio"),
    .linkedFramework("CoreGraphics"),
    .linkedFramework("CoreMedia"),
    .linkedFramework("CoreVideo"),
    .linkedFramework("Metal"),
    .linkedFramework("MetalKit"),
    .linkedFramework("QuartzCore"),
    .linkedFramework("VideoToolbox"),
    .linkedFramework("UIKit", onIOS),
    .linkedFramework("OpenGLES", onIOS),
    .linkedFramework("GLKit", onIOS),
    .linkedFramework("Network", onIOS),
    .linkedFramework("AppKit", onMacOS),
    .linkedFramework("OpenGL", onMacOS),
    .linkedFramework("IOKit", onMacOS),
    .linkedFramework("IOSurface", onMacOS),
    .linkedFramework("ScreenCaptureKit", onMacOS),
]

let package = Package(
    name: "SessionCore",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "SessionCore", targets: ["SessionCore"]),
    ],
    targets: [
        ffi,
        .target(
            name: "SessionCoreBindings",
            dependencies: ["SessionCoreFFI"],
            path: "Sources/SessionCoreBindings",
            linkerSettings: systemLibraries
        ),
        .target(
            name: "SessionCore",
            dependencies: ["SessionCoreBindings"],
            path: "Sources/SessionCore"
        ),
        .testTarget(
            name: "SessionCoreTests",
            dependencies: ["SessionCore"],
            path: "Tests/SessionCoreTests"
        ),
    ]
)
