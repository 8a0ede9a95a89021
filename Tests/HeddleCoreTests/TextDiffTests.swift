import HeddleCore
import Testing

@Suite struct TextDiffTests {
    @Test func aChangedLineIsRemovedAndAddedWithContext() {
        let old = "a\nb\nc\nd\ne\nf\ng\n"
        let new = "a\nb\nc\nD\ne\nf\ng\n"
        #expect(TextDiff.unified(from: old, to: new, context: 1) == ["...", "  c", "- d", "+ D", "  e", "..."])
    }

    @Test func insertionsAndDeletionsKeepTheCommonLines() {
        #expect(TextDiff.lines(from: "x\ny\nz", to: "x\nz\nw") == [.same("x"), .removed("y"), .same("z"), .added("w")])
        #expect(TextDiff.lines(from: "", to: "a") == [.removed(""), .added("a")])
    }

    @Test func identicalTextsShowNothing() {
        #expect(TextDiff.unified(from: "a\nb", to: "a\nb").isEmpty)
    }
}
