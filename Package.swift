// swift-tools-version:6.1
import PackageDescription

/// Release builds lay the heddle binary's code out by use: each function in a section of its
/// own, and identical functions not merged (a merged one is reached through a thunk that has no
/// name), so that the linker can put every function a proxy runs together, first, from the list
/// in scripts/heddle-layout.ld. A proxy's resident code pages drop from 12.3 MiB to 2.2
/// (BENCHMARKS.md, "Memory"). scripts/build-release.sh passes the same flags to the
/// dependencies' modules.
let layoutSettings: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-function-sections", "-Xfrontend", "-disable-llvm-merge-functions-pass"], .when(platforms: [.linux], configuration: .release)),
]

/// The release link of heddle on Linux: lld, with that layout (a GNU linker script), and the
/// relative relocations packed (RELR: ld.so reads 20 kB instead of 2 MiB of them at every
/// start, and they stay resident).
let layoutLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-use-ld=lld",
        "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/scripts/heddle-layout.ld",
        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    ], .when(platforms: [.linux], configuration: .release)),
]

/// NIO's reads and writes on sockets made with recv/send/sendmsg instead of read/write/writev
/// (Sources/CHeddleSocketCalls says why), in every build on Linux so the tests run it too.
let socketCallLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "--wrap=read", "-Xlinker", "--wrap=write", "-Xlinker", "--wrap=writev",
    ], .when(platforms: [.linux])),
]

/// Settings every Heddle module shares: explicit existentials and member imports, as
/// Hummingbird does, so dependencies stay visible; and the release layout above.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
] + layoutSettings

/// The data path drops runtime exclusivity checks in release builds: they were ~18 % of the
/// proxy's user-space instructions (`../shared/PERFORMANCE.md`); the test suite runs in debug
/// builds, where the checks stay on.
let hotPathSettings: [SwiftSetting] = strictSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "heddle",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "heddle", targets: ["heddle"]),
        .library(name: "HeddleCore", targets: ["HeddleCore"]),
        .library(name: "HeddlePolicy", targets: ["HeddlePolicy"]),
        .library(name: "HeddleHTTP1", targets: ["HeddleHTTP1"]),
        .library(name: "HeddleProxy", targets: ["HeddleProxy"]),
        .library(name: "HeddleAPI", targets: ["HeddleAPI"]),
        .library(name: "HeddleControlPlane", targets: ["HeddleControlPlane"]),
        .library(name: "HeddleSidecar", targets: ["HeddleSidecar"]),
        .library(name: "HeddleStats", targets: ["HeddleStats"]),
        .library(name: "HeddleIdentity", targets: ["HeddleIdentity"]),
        .library(name: "HeddleTracing", targets: ["HeddleTracing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
    ],
    targets: [
        .target(
            name: "HeddleCore",
            dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HeddlePolicy",
            dependencies: ["HeddleCore"],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "HeddleHTTP1",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "HeddleTracing",
            dependencies: [
                "HeddleCore",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HeddleTracingTests",
            dependencies: [
                "HeddleTracing",
                "HeddlePolicy",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HeddleProxy",
            dependencies: [
                "HeddleAPI",
                "HeddleCore",
                "HeddleTracing",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                "HeddlePolicy",
                "HeddleHTTP1",
                "HeddleIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPathSettings
        ),
        .executableTarget(
            name: "heddle",
            dependencies: [
                "HeddleAPI",
                "HeddleControlPlane",
                "HeddleSidecar",
                "HeddleCore",
                "HeddleProxy",
                "HeddleStats",
                "HeddleIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "CHeddleSocketCalls",
            ],
            swiftSettings: strictSettings,
            linkerSettings: layoutLinkerSettings + socketCallLinkerSettings
        ),
        .target(name: "CHeddleSocketCalls"),
        .target(
            name: "HeddleAPI",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HeddleControlPlane",
            dependencies: [
                "HeddleCore",
                "HeddleAPI",
                "HeddleStats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                "HeddleIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HeddleSidecar",
            dependencies: [
                "HeddleCore",
                "HeddleAPI",
                "HeddleIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "HeddlePolicy",
                "HeddleProxy",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HeddleIdentity",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "HeddleIdentityTests", dependencies: ["HeddleIdentity"], swiftSettings: strictSettings),
        .target(
            name: "HeddleStats",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "heddle-propagation-bench",
            dependencies: [
                "HeddleAPI",
                "HeddleControlPlane",
                "HeddleCore",
                "HeddleSidecar",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "benchmarks/propagation",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "heddle-scale-bench",
            dependencies: [
                "HeddleAPI",
                "HeddleSidecar",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "benchmarks/scale",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "HeddleStatsTests", dependencies: ["HeddleStats"], swiftSettings: strictSettings),
        .testTarget(name: "HeddleCoreTests", dependencies: ["HeddleCore"], swiftSettings: strictSettings),
        .testTarget(name: "HeddlePolicyTests", dependencies: ["HeddlePolicy"], swiftSettings: strictSettings),
        .testTarget(name: "HeddleHTTP1Tests", dependencies: ["HeddleHTTP1"], exclude: ["Corpus"], swiftSettings: strictSettings),
        .testTarget(
            name: "HeddleProxyTests",
            dependencies: [
                "HeddleProxy",
                "HeddleIdentity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HeddleControlPlaneTests",
            dependencies: [
                "HeddleControlPlane",
                "HeddleStats",
                "HeddleAPI",
                "HeddleCore",
                "HeddleIdentity",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HeddleEndToEndTests",
            dependencies: ["heddle"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
    ]
)
