/// One field line of a head, as byte ranges into `HTTP1Head.bytes`.
///
/// Offsets are stored in 32 bits, which `HTTP1Limits.maxHeadBytes` guarantees are enough.
public struct HTTP1Field: Sendable, Hashable {
    private let nameStart: UInt32
    private let nameEnd: UInt32
    private let valueStart: UInt32
    private let valueEnd: UInt32

    /// The field name's bytes.
    public var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
    /// The field value's bytes, without leading and trailing whitespace.
    public var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }

    init(name: Range<Int>, value: Range<Int>) {
        nameStart = UInt32(truncatingIfNeeded: name.lowerBound)
        nameEnd = UInt32(truncatingIfNeeded: name.upperBound)
        valueStart = UInt32(truncatingIfNeeded: value.lowerBound)
        valueEnd = UInt32(truncatingIfNeeded: value.upperBound)
    }
}
