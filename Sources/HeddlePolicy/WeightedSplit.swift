/// Chooses among backends in proportion to fixed weights, as for a 90/10 canary split: one
/// random draw, looked up by binary search in the prefix sums of the weights.
public struct WeightedSplit: Sendable {
    /// `cumulativeWeights[i]` is the sum of the weights of backends 0 through i.
    private let cumulativeWeights: [UInt64]

    public init(weights: [UInt32]) {
        var sum: UInt64 = 0
        cumulativeWeights = weights.map { weight in
            sum += UInt64(weight)
            return sum
        }
    }

    /// Each backend's weight, in order.
    public var weights: [UInt64] {
        cumulativeWeights.enumerated().map { index, sum in index == 0 ? sum : sum - cumulativeWeights[index - 1] }
    }

    /// A backend index drawn in proportion to its weight; a backend of weight 0 is never drawn;
    /// nil when every weight is 0 (or there are no backends).
    public func pick<R: RandomNumberGenerator>(using rng: inout R) -> Int? {
        guard let total = cumulativeWeights.last, total > 0 else { return nil }
        let draw = rng.uniform(below: total)
        var low = 0
        var high = cumulativeWeights.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulativeWeights[middle] > draw { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
