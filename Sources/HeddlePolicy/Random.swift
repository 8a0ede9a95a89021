/// SplitMix64 (Steele, Lea and Flood): a tiny seeded generator, used to seed other generators
/// and wherever a reproducible stream of bits is enough.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna): the fast, seeded generator the balancers draw from on
/// the data path, one per event loop.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Expands `seed` with SplitMix64, as the authors recommend; the state is never all zero
    /// because SplitMix64's outputs for consecutive states are distinct.
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(by: 45)
        return result
    }
}

extension RandomNumberGenerator {
    /// A uniform integer in `0 ..< upperBound` (which must be positive) from a single `next()`:
    /// the high word of `upperBound × next()` (Lemire), biased by less than `upperBound / 2⁶⁴`.
    ///
    /// The balancers use this instead of the standard library's `random(in:using:)`: called
    /// from code that is generic over the generator and not specialized for the caller's type,
    /// the standard library's version goes through runtime metadata lookups, ten times slower.
    @inline(__always)
    mutating func uniform(below upperBound: UInt64) -> UInt64 {
        upperBound.multipliedFullWidth(by: next()).high
    }
}
