import HeddlePolicy
import Testing

@Suite("StableHash is xxHash64")
struct StableHashTests {
    @Test(
        "Reference values",
        arguments: [
            ("", 0xEF46_DB37_51D8_E999 as UInt64),
            ("a", 0xD24E_C4F1_A98C_6E5B),
            ("abc", 0x44BC_2CF5_AD77_0999),
            ("10.0.0.1:8080", 0xCB97_2177_068E_B685),
            ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1),
        ]
    )
    func referenceValues(input: String, expected: UInt64) {
        #expect(StableHash.hash64(input) == expected)
        #expect(StableHash.hash64(Array(input.utf8)) == expected)
    }

    @Test("A 100-byte input: stripes, whole lanes, a half lane and single bytes")
    func longInput() {
        #expect(StableHash.hash64((0..<100).map { UInt8($0) }) == 0x6AC1_E580_3216_6597)
    }

    @Test("Contiguous and streamed inputs agree for every length from 0 to 100")
    func contiguousMatchesStreamed() {
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for length in 0...100 {
            let prefix = Array(bytes.prefix(length))
            #expect(StableHash.hash64(prefix) == StableHash.hash64(prefix.lazy.map { $0 }))
        }
    }
}
