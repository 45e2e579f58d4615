import Foundation

/// The text of each cue of an srt or vtt file as a reference parser from PyPI reads it (`srt`,
/// `webvtt-py`, pinned in scripts/requirements/tests.txt), line breaks within a cue as spaces.
/// Throws with the parser's message when it rejects the file.
package func cueTexts(ofSubtitleFile path: String, format: String) throws -> [String] {
    let cues =
        format == "srt"
        ? "[c.content for c in srt.parse(open(sys.argv[1], encoding='utf-8').read())]"
        : "[c.text for c in webvtt.read(sys.argv[1]).captions]"
    let script = "import json, srt, sys, webvtt; print(json.dumps([t.replace(chr(10), ' ') for t in \(cues)]))"
    let python = try Run.shell("python3 -c \"\(script)\" '\(path)'")
    guard python.status == 0, let texts = try JSONSerialization.jsonObject(with: Data(python.stdout.utf8)) as? [String]
    else {
        throw TestFailure("the \(format) parser rejected \(path): \(python.stderr)")
    }
    return texts
}
