// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "jobgate",
    // Linux has no platform minimum; on Apple platforms the client library needs Swift concurrency.
    platforms: [.macOS(.v14), .iOS(.v17)],
    products: [
        .executable(name: "jobgate", targets: ["jobgate"]),
        .library(name: "JobgateClient", targets: ["JobgateClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "JobgateServer",
            dependencies: ["CLibUV", "CHiredis", "CZlib", "COpenSSL"],
            resources: [.embedInCode("Store/lua")]
        ),
        .executableTarget(
            name: "jobgate",
            dependencies: ["JobgateServer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "JobgateServerTests", dependencies: ["JobgateServer"]),

        // The Swift client library: portable (no libuv/hiredis), so it builds on macOS too.
        .target(
            name: "JobgateClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "clients/swift/Sources/JobgateClient"
        ),
        .executableTarget(name: "jobgate-image-worker", dependencies: ["JobgateClient"], path: "clients/swift/Examples/ImageWorker"),
        .testTarget(name: "JobgateClientTests", dependencies: ["JobgateClient"], path: "clients/swift/Tests/JobgateClientTests"),

        // libFuzzer targets; Tests/fuzz/run builds them instrumented into .build-fuzz. A plain
        // build replays files through a target: `jobgate-fuzz json FILE...`.
        .executableTarget(name: "jobgate-fuzz", dependencies: ["JobgateServer", "CLibUV"], path: "Sources/JobgateFuzz"),
    ]
)
