// What the fuzz targets share: libFuzzer's driver for SwiftPM's entry point, scratch files.
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the command line and `testOneInput`; what `main` does in libFuzzer's own
/// main, for an executable whose `main` SwiftPM has already claimed.
public func runLibFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, testOneInput)
}

/// The input bytes; empty for libFuzzer's empty input.
public func fuzzInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: count > 0 ? start : nil, count: count > 0 ? count : 0)
}

/// Keeps a computed value alive so the optimiser cannot drop the work that made it.
@inline(never) public func blackHole<T>(_ value: T) {
    withUnsafePointer(to: value) { _ = $0 }
}

/// A directory for the run's scratch files (in /dev/shm when there is one), for targets whose
/// parsers read a model directory: each input is written there as the file it stands for.
public let scratchDirectory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    var template = Array("\(base)/transcribe-fuzz-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in
        mkdtemp(buffer.baseAddress!).map { String(cString: $0) } ?? base
    }
}()

/// Writes `bytes` to `name` in `scratchDirectory` and returns its path.
public func scratchFile(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
    let path = scratchDirectory + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}
