import Foundation

/// Speech regions put end to end into windows of at most `maximumSamples`: faster-whisper's
/// `collect_chunks(audio, regions, max_duration=30)`, one window at a time.
struct SpeechWindowPacker {
    /// One window: its samples, and where it starts on the speech-only timeline (the windows
    /// before it put end to end), in samples.
    struct Window {
        var samples: [Float] = []
        var offset = 0
    }

    let maximumSamples: Int
    private var current = Window()

    init(maximumSamples: Int) { self.maximumSamples = maximumSamples }

    /// Adds a region; returns the window it closed, if it did not fit in the current one.
    mutating func add(_ samples: [Float]) -> Window? {
        guard current.samples.count + samples.count > maximumSamples else {
            current.samples += samples
            return nil
        }
        let closed = current
        current = Window(samples: samples, offset: closed.offset + closed.samples.count)
        return closed.samples.isEmpty ? nil : closed
    }

    /// The last window, if it holds anything.
    func finish() -> Window? { current.samples.isEmpty ? nil : current }
}

extension WhisperRecognizer {
    /// Transcribes the speech `speech` finds as faster-whisper's `BatchedInferencePipeline` does:
    /// the regions (found with `SpeechRegionOptions.batched()`) packed into windows of up to 30 s,
    /// each window's log-mel computed on its own, `batchSize` windows encoded and decoded together
    /// (`decodeBatch`: every decoder product has rows for each beam of each window). Each window
    /// is decoded once, without timestamps, without the previous text as prompt and without a
    /// temperature fallback, and becomes one segment; word times come from the alignment. Memory
    /// holds one batch of windows, however long the input. Times are the input's.
    public func recognizeBatched(speech: SpeechFilter, batchSize: Int) throws -> Recognition {
        var options = self.options
        options.timestamps = false
        options.maxInitialTimestamp = 0
        let decoder = windowDecoder(options)
        let hop = featureExtractor.hopLength
        var packer = SpeechWindowPacker(maximumSamples: featureExtractor.nSamples)
        var pending: [SpeechWindowPacker.Window] = []
        var language = self.options.language
        var languageProbability = 1.0
        var segments: [WhisperSegment] = []
        var lastSpeech = 0.0

        /// The window's log-mel as faster-whisper's batched pipeline makes it: one hop of silence
        /// after the samples, the frames of the samples kept, zero frames up to 30 s.
        func features(_ window: SpeechWindowPacker.Window) -> Matrix {
            let mel = featureExtractor.logMel(window.samples + [Float](repeating: 0, count: hop))
            return zeroPadded(zeroPadded(mel, rows: 0..<(window.samples.count / hop)), rows: 0..<model.inputFrames)
        }
        /// faster-whisper detects the language on the first 30 s of the windows' frames put end to
        /// end, with one frame of -1.5 after the last.
        func detect(_ windows: [SpeechWindowPacker.Window], complete: Bool) {
            var frames: [Float] = []
            let bins = featureExtractor.featureSize
            for window in windows where frames.count < model.inputFrames * bins {
                let mel = featureExtractor.logMel(window.samples + [Float](repeating: 0, count: hop))
                frames += mel.data.prefix(window.samples.count / hop * bins)
            }
            if complete { frames += [Float](repeating: -1.5, count: bins) }
            let rows = min(model.inputFrames, frames.count / bins)
            let matrix = Matrix(rows: rows, cols: bins, data: Array(frames.prefix(rows * bins)))
            (language, languageProbability) = detectLanguageWithProbability(
                encoded: model.encode(zeroPadded(matrix, rows: 0..<model.inputFrames)))
        }
        func decode(_ windows: [SpeechWindowPacker.Window]) {
            let crosses = windows.map { model.crossStates(model.encode(features($0))) }
            let (prompt, sotIndex) = self.prompt(previous: [], language: language ?? "en", timestamps: false)
            let results = decoder.decodeBatch(crosses: crosses, prompt: prompt, sotIndex: sotIndex)
            for (window, (result, cross)) in zip(windows, zip(results, crosses)) {
                let offset = Double(window.offset) / Double(sampleRate)
                let seconds = Double(window.samples.count) / Double(sampleRate)
                let frames = Int(seconds.rounded(.up)) * featureExtractor.framesPerSecond
                var cut = cutSegments(
                    result, timeOffset: offset, segmentFrames: frames, duration: .infinity, windowSeconds: seconds,
                    timestamps: false
                ).segments
                let seek = Int(offset * Double(featureExtractor.framesPerSecond))
                for index in cut.indices {
                    cut[index].seek = seek
                    cut[index].averageLogProb = result.averageLogProb
                    cut[index].noSpeechProb = result.noSpeechProb
                    cut[index].compressionRatio = compressionRatio(cut[index].text)
                    // faster-whisper rounds the batched segments' times to the millisecond.
                    cut[index].start = roundedLikePython(cut[index].start, digits: 3)
                    cut[index].end = roundedLikePython(cut[index].end, digits: 3)
                }
                if self.options.wordTimestamps {
                    (cut, lastSpeech) = addWordTimestamps(
                        cut, cross: cross, frames: min(frames, model.inputFrames), seek: seek,
                        language: language ?? "en", lastSpeech: lastSpeech)
                }
                segments += cut
            }
        }
        func flush(final: Bool) {
            if language == nil && isMultilingual {
                let frames = pending.reduce(0) { $0 + $1.samples.count / hop }
                guard final || frames >= model.inputFrames else { return }
                detect(pending, complete: final)
            }
            while pending.count >= batchSize || (final && !pending.isEmpty) {
                let batch = Array(pending.prefix(batchSize))
                pending.removeFirst(batch.count)
                decode(batch)
            }
        }
        while let (_, samples) = try speech.nextRegion() {
            if let window = packer.add(samples) {
                pending.append(window)
                flush(final: false)
            }
        }
        if let window = packer.finish() { pending.append(window) }
        flush(final: true)

        var transcription = WhisperTranscription(
            segments: segments, language: language ?? "en", duration: speech.timeline.speechSeconds)
        transcription.languageProbability = languageProbability
        transcription.languageWasDetected = isMultilingual && self.options.language == nil
        let (transcript, ranges) = Self.timedTranscript(transcription)
        var recognition = Recognition(transcript: transcript, segmentWords: ranges, emissions: nil)
        recognition.whisper = transcription
        return recognition.restored(to: speech.timeline, inputSeconds: speech.inputSeconds)
    }
}
