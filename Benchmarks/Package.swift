// swift-tools-version: 6.1
// The kernel benchmarks, a package of their own so that `swift test` at the root does not build the benchmark
// harness. Run from this folder: `swift package benchmark` (see ../docs/performance.md).
import Foundation
import PackageDescription

/// A path dependency is named after its folder, which is whatever the clone of this repository is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "swift-gpt-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TensorModule", package: root),
                .product(name: "NN", package: root),
                .product(name: "LanguageModels", package: root),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
