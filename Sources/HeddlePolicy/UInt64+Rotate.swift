extension UInt64 {
    /// The bits rotated left by `count` (0 ..< 64), as the hash and random generators use.
    @inline(__always)
    func rotatedLeft(by count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 &- count))
    }
}
