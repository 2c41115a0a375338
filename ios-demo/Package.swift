// swift-tools-version:5.9
// DemoCore: the iOS demo's logic (view models for every screen, the server API client, the
// keystore and transport implementations), over the UniFFI Swift bindings of dinhdanh-ffi.
//
// On Apple platforms the Rust library comes as an XCFramework (scripts/build-xcframework, on a
// Mac); on Linux (the test command) as the host library through a module map
// (Sources/dinhdanh_ffiFFI), linked with `-L` on the command line (scripts/check).
import PackageDescription

#if os(Linux)
let rustLibrary: Target = .systemLibrary(name: "dinhdanh_ffiFFI", path: "Sources/dinhdanh_ffiFFI")
#else
let rustLibrary: Target = .binaryTarget(
    name: "dinhdanh_ffiFFI", path: "Frameworks/dinhdanh_ffiFFI.xcframework")
#endif

let package = Package(
    name: "DemoCore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "DemoCore", targets: ["DemoCore"]),
    ],
    targets: [
        rustLibrary,
        // The generated bindings (scripts/generate-bindings writes dinhdanh_ffi.swift here).
        .target(name: "DinhdanhFFI", dependencies: ["dinhdanh_ffiFFI"], path: "Sources/DinhdanhFFI"),
        .target(name: "DemoCore", dependencies: ["DinhdanhFFI"], path: "Sources/DemoCore"),
        .testTarget(name: "DemoCoreTests", dependencies: ["DemoCore"], path: "Tests/DemoCoreTests"),
    ]
)
