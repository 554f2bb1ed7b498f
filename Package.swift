// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-gpt",
    platforms: [.macOS(.v14)],
    // MARK: - Public products
    products: [
        .library(name: "TensorModule", targets: ["TensorModule"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "LanguageModels", targets: ["LanguageModels"]),
        .library(name: "GPTServer", targets: ["GPTServer"]),
        .executable(name: "gpt", targets: ["gpt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // MARK: - Implementation targets
        .target(name: "CKernels"),
        .target(name: "TensorModule", dependencies: ["CKernels"]),
        .target(name: "NN", dependencies: ["TensorModule"]),
        .target(
            name: "LanguageModels",
            dependencies: ["NN", "TensorModule"],
            resources: [.copy("Resources/tinyshakespeare.txt")]
        ),
        .target(
            name: "GPTServer",
            dependencies: [
                "LanguageModels", "TensorModule", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "gpt",
            dependencies: [
                "CKernels", "GPTServer", "LanguageModels", "NN", "TensorModule",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Shared test helpers: op checks, naive references, fixtures (tiny configurations need LanguageModels).
        .target(name: "_TestSupport", dependencies: ["LanguageModels", "TensorModule"], path: "Sources/_TestSupport"),
        // MARK: - Test targets
        .testTarget(name: "TensorModuleTests", dependencies: ["TensorModule", "_TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorModule", "_TestSupport"]),
        .testTarget(
            name: "GPTServerTests",
            // A live loopback server and Foundation's URLSession: no HTTP client package (and no TLS library) to build.
            dependencies: ["GPTServer", "LanguageModels", "TensorModule", "_TestSupport", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "LanguageModelsTests",
            dependencies: ["LanguageModels", "NN", "TensorModule", "_TestSupport"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
