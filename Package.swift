// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "transcribe",
    products: [
        .executable(name: "transcribe", targets: ["transcribe"]),
        .library(name: "TranscribeKit", targets: ["TranscribeKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(
            name: "CSampleRate",
            pkgConfig: "samplerate",
            providers: [.apt(["libsamplerate0-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "TranscribeKit",
            dependencies: ["CSndFile", "CSampleRate", "COpenBLAS", "CZlib"],
            // The engine is optimised in debug builds too: unoptimised SIMD and buffer loops are
            // ~50x slower, which would make the parity tests take minutes.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .executableTarget(
            name: "transcribe",
            dependencies: [
                "TranscribeKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TranscribeKitTests",
            dependencies: ["TranscribeKit"]
        ),
    ]
)
