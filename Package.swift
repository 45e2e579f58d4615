// swift-tools-version: 6.0
import Foundation
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

// libFuzzer targets, one folder each under Fuzz/, declared only when scripts/fuzz.sh builds them
// (TRANSCRIBE_FUZZ=1, with -sanitize=fuzzer,address into .build-fuzz): a plain `swift build` or
// `swift test` never sees them. A new folder Fuzz/FuzzSomething/ is a new target.
if Context.environment["TRANSCRIBE_FUZZ"] != nil {
    let fuzzDirectory = Context.packageDirectory + "/Fuzz"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzzDirectory)) ?? []
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for name in names.sorted() where name.hasPrefix("Fuzz") {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["TranscribeKit", "FuzzSupport"], path: "Fuzz/\(name)"))
    }
}
