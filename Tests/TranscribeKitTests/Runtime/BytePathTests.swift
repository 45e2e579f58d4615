import Foundation
import Testing

@testable import TranscribeKit
import TestSupport

@Suite struct BytePathTests {
    static let escapes: [(bytes: [UInt8], escaped: String)] = [
        (Array("plain name.wav".utf8), "plain name.wav"),
        (Array("caf\u{E9}.wav".utf8), "caf\u{E9}.wav"),
        (Array("caf".utf8) + [0xE9] + Array(".wav".utf8), "caf\\xe9.wav"),
        (Array("a\tb\nc\rd\\e".utf8), "a\\tb\\nc\\rd\\\\e"),
        ([0x01, 0x7F] + Array("x".utf8), "\\x01\\x7fx"),
        ([0xC2, 0x85], "\\xc2\\x85"),  // U+0085, a C1 control (NEL)
        ([0xE2, 0x82], "\\xe2\\x82"),  // a sequence cut short
    ]

    @Test(arguments: 0..<escapes.count)
    func escapesEveryNameOntoOneLine(_ index: Int) {
        let (bytes, expected) = Self.escapes[index]
        let escaped = BytePath(bytes: bytes).description
        #expect(escaped == expected)
        #expect(!escaped.contains("\n") && !escaped.contains("\t"))
    }

    @Test func componentsAndStems() {
        let path = BytePath("dir/sub/clip.take2.wav")
        #expect(path.lastComponent == BytePath("clip.take2.wav"))
        #expect(path.directory == BytePath("dir/sub"))
        #expect(path.stem == BytePath("clip.take2"))
        #expect(BytePath(".hidden").stem == BytePath(".hidden"))
        #expect(BytePath("name").directory == BytePath("."))
        #expect(BytePath("/name").directory == BytePath("/"))
        #expect(BytePath("out/").appending(BytePath("a.txt")) == BytePath("out/a.txt"))
        #expect(BytePath("out").appending(BytePath("a.txt")) == BytePath("out/a.txt"))
    }

    /// Equal as Swift strings (canonically equivalent), different as names.
    @Test func normalisationFormsAreDifferentPaths() {
        #expect("caf\u{E9}" == "cafe\u{301}")
        #expect(BytePath("caf\u{E9}") != BytePath("cafe\u{301}"))
    }
}
