// swift-tools-version:6.1
import Foundation
import PackageDescription

/// A path dependency is known by its directory's name, which depends on where the repository
/// was cloned.
let heddleIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// The fuzz targets, kept out of the main package so its builds stay free of them.
/// Built and run by `fuzz/run.sh` with `-sanitize=fuzzer,address`.
let package = Package(
    name: "heddle-fuzz",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "HTTP1Fuzzer",
            dependencies: [
                .product(name: "HeddleHTTP1", package: heddleIdentity),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
