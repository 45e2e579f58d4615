/// A recognition of the speech alone (`SpeechFilter`), put back on the input's timeline.
extension Recognition {
    /// Every time moved from the speech-only audio to the input, as faster-whisper's
    /// `restore_speech_timestamps` moves them: a word by the region its middle falls in (so its
    /// start and end stay together), a segment without words by its start and end. The JSON then
    /// lists the regions; CTC emissions stay those of the speech-only frames.
    public func restored(to timeline: SpeechTimeline, inputSeconds: Double) -> Recognition {
        var restored: Recognition
        if let whisper {
            let transcription = whisper.restored(to: timeline, inputSeconds: inputSeconds)
            let (transcript, ranges) = WhisperRecognizer.timedTranscript(transcription)
            restored = Recognition(transcript: transcript, segmentWords: ranges, emissions: emissions)
            restored.whisper = transcription
        } else {
            restored = Recognition(
                transcript: transcript.restored(to: timeline, inputSeconds: inputSeconds), segmentWords: segmentWords,
                emissions: emissions)
        }
        restored.speech = timeline
        return restored
    }
}

extension WhisperTranscription {
    func restored(to timeline: SpeechTimeline, inputSeconds: Double) -> WhisperTranscription {
        let segments = self.segments.map { segment in
            var segment = segment
            if segment.words.isEmpty {
                segment.start = timeline.originalTime(segment.start)
                segment.end = timeline.originalTime(segment.end, isEnd: true)
            } else {
                for index in segment.words.indices {
                    let word = segment.words[index]
                    let region = timeline.regionIndex((word.start + word.end) / 2)
                    segment.words[index].start = timeline.originalTime(word.start, region: region)
                    segment.words[index].end = timeline.originalTime(word.end, region: region)
                }
                segment.start = segment.words[0].start
                segment.end = segment.words[segment.words.count - 1].end
            }
            return segment
        }
        var restored = WhisperTranscription(segments: segments, language: language, duration: inputSeconds)
        restored.languageProbability = languageProbability
        restored.languageWasDetected = languageWasDetected
        return restored
    }
}

extension TimedTranscript {
    /// Each word, with its characters, moved by the region its middle falls in.
    func restored(to timeline: SpeechTimeline, inputSeconds: Double) -> TimedTranscript {
        let words = self.words.map { word in
            let region = timeline.regionIndex((word.start + word.end) / 2)
            return Word(
                characters: word.characters.map { character in
                    CharacterTiming(
                        text: character.text, start: timeline.originalTime(character.start, region: region),
                        end: timeline.originalTime(character.end, region: region), confidence: character.confidence)
                })
        }
        return TimedTranscript(text: text, duration: inputSeconds, words: words)
    }
}
