/// Mono samples at one rate, handed out block by block: an input file as it is decoded, or the
/// speech of one (`SpeechFilter`).
public protocol SampleSource: AnyObject {
    /// Hz.
    var sampleRate: Int { get }
    /// The next samples; empty once the input is exhausted.
    func next() throws -> [Float]
}

extension AudioStream: SampleSource {}
