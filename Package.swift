// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "jobgate",
    products: [
        .executable(name: "jobgate", targets: ["jobgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "JobgateServer",
            dependencies: ["CLibUV", "CHiredis", "CZlib"],
            resources: [.embedInCode("Store/lua")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "jobgate",
            dependencies: ["JobgateServer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "JobgateServerTests", dependencies: ["JobgateServer"]),
    ]
)
