/// xxHash64 (seed 0): a fast 64-bit hash whose value is the same in every run, process and
/// machine, for consistent hashing and sticky choices. Swift's `Hasher` is seeded per process
/// and must not be used for these.
public enum StableHash {
    /// The xxHash64 of `bytes`, matching the reference implementation (`XXH64(bytes, 0)`).
    public static func hash64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        bytes.withContiguousStorageIfAvailable { xxHash64($0) } ?? xxHash64(bytes)
    }

    /// The xxHash64 of the string's UTF-8 bytes.
    public static func hash64(_ string: String) -> UInt64 {
        hash64(string.utf8)
    }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// Streams the input once, a byte at a time: whole 32-byte stripes feed the four
    /// accumulators, and the last (up to 31) bytes are kept as lanes for the tail.
    private static func xxHash64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var acc = (prime1 &+ prime2, prime2, UInt64(0), 0 &- prime1)
        var lanes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var lane: UInt64 = 0
        var length: UInt64 = 0
        for byte in bytes {
            lane |= UInt64(byte) << ((length & 7) &* 8)
            length &+= 1
            guard length & 7 == 0 else { continue }
            switch (length >> 3) & 3 {
            case 1: lanes.0 = lane
            case 2: lanes.1 = lane
            case 3: lanes.2 = lane
            default:
                acc = (
                    round(acc.0, lanes.0), round(acc.1, lanes.1),
                    round(acc.2, lanes.2), round(acc.3, lane)
                )
            }
            lane = 0
        }

        var hash: UInt64
        if length >= 32 {
            hash = acc.0.rotatedLeft(by: 1) &+ acc.1.rotatedLeft(by: 7)
                &+ acc.2.rotatedLeft(by: 12) &+ acc.3.rotatedLeft(by: 18)
            hash = mergeRound(hash, acc.0)
            hash = mergeRound(hash, acc.1)
            hash = mergeRound(hash, acc.2)
            hash = mergeRound(hash, acc.3)
        } else {
            hash = prime5
        }
        hash &+= length

        let wholeLanes = (length >> 3) & 3
        if wholeLanes > 0 { hash = mixLane(hash, lanes.0) }
        if wholeLanes > 1 { hash = mixLane(hash, lanes.1) }
        if wholeLanes > 2 { hash = mixLane(hash, lanes.2) }
        var remaining = length & 7
        if remaining >= 4 {
            hash ^= (lane & 0xFFFF_FFFF) &* prime1
            hash = hash.rotatedLeft(by: 23) &* prime2 &+ prime3
            lane >>= 32
            remaining -= 4
        }
        while remaining > 0 {
            hash ^= (lane & 0xFF) &* prime5
            hash = hash.rotatedLeft(by: 11) &* prime1
            lane >>= 8
            remaining -= 1
        }

        hash ^= hash >> 33
        hash &*= prime2
        hash ^= hash >> 29
        hash &*= prime3
        hash ^= hash >> 32
        return hash
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        (accumulator &+ input &* prime2).rotatedLeft(by: 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ hash: UInt64, _ accumulator: UInt64) -> UInt64 {
        (hash ^ round(0, accumulator)) &* prime1 &+ prime4
    }

    @inline(__always)
    private static func mixLane(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        (hash ^ round(0, lane)).rotatedLeft(by: 27) &* prime1 &+ prime4
    }
}
