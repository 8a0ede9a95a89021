// swift-tools-version:6.1
import PackageDescription

/// Micro benchmarks (ordo-one/benchmark) of the proxy's per-request pieces: route match,
/// balancer pick, HTTP/1 head parsing and writing, metrics recording; time and allocations per
/// operation. A package of its own, so that the main package's users and builds never resolve
/// or build the benchmark harness; it uses the Heddle modules' public API only, HeddleProxy's
/// request view, head rewrites and metric handles included (public for this package).
///
///     cd benchmarks/micro && swift package benchmark        # release, see BENCHMARKS.md
///     benchmarks/micro/smoke.sh                              # CI: a debug build, a few iterations,
///                                                            # in the main package's .build
let package = Package(
    name: "heddle-micro-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that products are found as package "heddle" whatever the clone's folder is
        // called (a path dependency's identity is otherwise its folder name).
        .package(name: "heddle", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "HeddleMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HeddleCore", package: "heddle"),
                .product(name: "HeddlePolicy", package: "heddle"),
                .product(name: "HeddleHTTP1", package: "heddle"),
                .product(name: "HeddleProxy", package: "heddle"),
                .product(name: "HeddleStats", package: "heddle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/HeddleMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
