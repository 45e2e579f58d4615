// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// The engine's own loops (softmax, activations, norms, the log-mel) are SIMD code. Where the
/// machine building it has the x86-64-v3 features (AVX2, FMA; every x86-64 server CPU since about
/// 2015), they are built for them (as `haswell`: this swiftc does not know the name x86-64-v3),
/// which makes them two to three times faster; a binary built so stops with "illegal instruction"
/// on an older CPU. `TRANSCRIBE_PORTABLE=1 swift build` makes one for any x86-64. OpenBLAS picks
/// its kernels for the CPU it runs on either way.
func engineCPUFlags() -> [String] {
    #if arch(x86_64)
        guard Context.environment["TRANSCRIBE_PORTABLE"] == nil,
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })?.split(separator: " ")
        else { return [] }
        let x86_64_v3: [Substring] = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
        return x86_64_v3.allSatisfy(flags.contains) ? ["-target-cpu", "haswell"] : []
    #else
        return []
    #endif
}

let package = Package(
    name: "transcribe",
    products: [
        .executable(name: "transcribe", targets: ["transcribe"]),
        .library(name: "TranscribeKit", targets: ["TranscribeKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
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
        // One inline function: the spin-wait hint for the worker pool's threads.
        .target(name: "CSpinHint"),
        .target(
            name: "TranscribeKit",
            dependencies: ["CSndFile", "CSampleRate", "COpenBLAS", "CZlib", "CSpinHint"],
            // The engine is optimised in debug builds too: unoptimised SIMD and buffer loops are
            // ~50x slower, which would make the parity tests take minutes.
            swiftSettings: [
                .unsafeFlags(["-O"], .when(configuration: .debug)),
                .unsafeFlags(engineCPUFlags()),
            ]
        ),
        .executableTarget(
            name: "transcribe",
            dependencies: [
                "TranscribeKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures, the binary runner and signal helpers both test targets use.
        .target(name: "TestSupport", dependencies: ["TranscribeKit"], path: "Tests/Support"),
        // The engine by area, folders mirroring Sources/TranscribeKit: units, kernels against
        // their naive references, and parity with transformers and faster-whisper.
        .testTarget(
            name: "TranscribeKitTests",
            dependencies: ["TranscribeKit", "TestSupport"]
        ),
        // The built `transcribe` binary run as a user runs it: stdout, stderr, exit status, files.
        .testTarget(
            name: "TranscribeCLITests",
            dependencies: ["TranscribeKit", "TestSupport"]
        ),
    ]
)

// libFuzzer targets, one folder each under Fuzz/, declared only when scripts/qa/fuzz.sh builds them
// (TRANSCRIBE_FUZZ=1, with -sanitize=fuzzer,address into .build-fuzz): a plain `swift build` or
// `swift test` never sees them. A new folder Fuzz/FuzzSomething/ is a new target.
if Context.environment["TRANSCRIBE_FUZZ"] != nil {
    let fuzzDirectory = Context.packageDirectory + "/Fuzz"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzzDirectory)) ?? []
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for name in names.sorted() where name.hasPrefix("Fuzz") {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: ["TranscribeKit", "FuzzSupport"], path: "Fuzz/\(name)"))
    }
}
