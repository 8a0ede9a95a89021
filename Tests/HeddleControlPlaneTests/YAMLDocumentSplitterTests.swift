@testable import HeddleControlPlane
import Testing

/// Splitting an applied YAML stream into its documents, keeping where each starts.
@Suite("YAMLDocumentSplitter")
struct YAMLDocumentSplitterTests {
    @Test("Documents are split at '---' lines, keep their first line in the stream, and what follows the marker")
    func splitsAtMarkers() {
        let documents = YAMLDocumentSplitter.split("a: 1\nb: 2\n---\nc: 3\n--- # second\n\nd: 4\n")
        #expect(documents == [
            YAMLDocument(text: "a: 1\nb: 2", firstLine: 1),
            YAMLDocument(text: "c: 3", firstLine: 4),
            YAMLDocument(text: "# second\n\nd: 4", firstLine: 5),
        ])
    }

    @Test("A leading marker, doubled markers and comment-only documents give no document")
    func dropsEmptyDocuments() {
        let documents = YAMLDocumentSplitter.split("---\n# only a comment\n---\n---\nkind: Service\n---\n")
        #expect(documents == [YAMLDocument(text: "kind: Service", firstLine: 5)])
    }

    @Test("Content after '---' on the marker line opens the next document; '...' ends one")
    func markerLineContentAndDocumentEnd() {
        let documents = YAMLDocumentSplitter.split("--- a: 1\n...\nb: 2\n")
        #expect(documents == [YAMLDocument(text: "a: 1", firstLine: 1), YAMLDocument(text: "b: 2", firstLine: 3)])
    }

    @Test("Lines that only start with dashes, or hold them indented, are content")
    func dashesInsideContent() {
        let yaml = "a: |\n  ---\n  text\nb: ----\n"
        #expect(YAMLDocumentSplitter.split(yaml) == [YAMLDocument(text: "a: |\n  ---\n  text\nb: ----", firstLine: 1)])
    }

    @Test("Windows line ends are understood")
    func carriageReturns() {
        let documents = YAMLDocumentSplitter.split("a: 1\r\n---\r\nb: 2\r\n")
        #expect(documents.map(\.firstLine) == [1, 3])
        #expect(documents.count == 2)
    }
}
