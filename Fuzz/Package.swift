// swift-tools-version: 6.1
// The fuzz target of the file readers, a package of its own so that `swift build` and `swift test` at the root do
// not build it. Run it with ../Scripts/fuzz.sh (libFuzzer), not by hand.
import Foundation
import PackageDescription

/// A path dependency is named after its folder, which is whatever the clone of this repository is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "swift-gpt-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "gpt-fuzz",
            dependencies: [
                .product(name: "LanguageModels", package: root), .product(name: "TensorModule", package: root),
                .product(name: "GPTServer", package: root),
            ],
            path: "Sources/gpt-fuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
