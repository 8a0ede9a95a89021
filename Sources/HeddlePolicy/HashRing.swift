/// A Ketama-style consistent-hash ring over a balancer's endpoints, built once per endpoint
/// set and searched by binary search on every pick.
///
/// An endpoint of weight w gets `w × p` points, at `StableHash` of `"<key>_<n>"`, where p is the
/// smallest power of two that gives the ring at least `minimumSize` points. Because p moves
/// only in powers of two, adding or removing an endpoint usually leaves every other endpoint's
/// points in place, and only the keys of the endpoint that changed move. A ring that would
/// exceed `maximumSize` points is scaled down to it instead.
struct HashRing: Sendable {
    /// The most points a ring may hold, whatever the weights or the configured minimum.
    static let maximumSize = 8_388_608

    /// Point hashes in ascending order, and the endpoint index owning each point.
    private var hashes: [UInt64] = []
    private var owners: [UInt32] = []
    /// How many endpoints own at least one point.
    private var ownerCount = 0
    /// Per endpoint, the pick that last found it ineligible: lets a walk stop once every
    /// owner has been tried, without clearing anything between picks.
    private var lastRejected: [UInt64] = []
    private var pickNumber: UInt64 = 0

    init(endpoints: [BalancerEndpoint], minimumSize: Int) {
        lastRejected = Array(repeating: 0, count: endpoints.count)
        let totalWeight = endpoints.reduce(UInt64(0)) { $0 + UInt64($1.weight) }
        guard totalWeight > 0 else { return }
        let floor = UInt64(min(max(minimumSize, 1), Self.maximumSize))
        var pointsPerWeight: UInt64 = 1
        while pointsPerWeight * totalWeight < floor { pointsPerWeight *= 2 }
        let scale = pointsPerWeight * totalWeight <= UInt64(Self.maximumSize)
            ? Double(pointsPerWeight)
            : Double(Self.maximumSize) / Double(totalWeight)

        var points: [(hash: UInt64, owner: UInt32)] = []
        points.reserveCapacity(Int((scale * Double(totalWeight)).rounded(.up)))
        var placed = 0.0
        var target = 0.0
        for (index, endpoint) in endpoints.enumerated() where endpoint.weight > 0 {
            target += scale * Double(endpoint.weight)
            var name = Array(endpoint.key.utf8)
            name.append(UInt8(ascii: "_"))
            let prefixLength = name.count
            var replica = 0
            let firstPoint = points.count
            while placed < target {
                name.removeSubrange(prefixLength...)
                name.append(contentsOf: String(replica).utf8)
                points.append((StableHash.hash64(name), UInt32(index)))
                replica += 1
                placed += 1
            }
            if points.count > firstPoint { ownerCount += 1 }
        }
        points.sort { ($0.hash, $0.owner) < ($1.hash, $1.owner) }
        hashes = points.map(\.hash)
        owners = points.map(\.owner)
    }

    /// The endpoint owning the first point at or after `hash` (wrapping around), or, when
    /// `isEligible` refuses it, the owner of the next point clockwise that it accepts; nil when
    /// it accepts none.
    mutating func pick(hash: UInt64, isEligible: (Int) -> Bool) -> Int? {
        guard !hashes.isEmpty else { return nil }
        var low = 0
        var high = hashes.count
        while low < high {
            let middle = (low + high) / 2
            if hashes[middle] < hash { low = middle + 1 } else { high = middle }
        }
        var position = low == hashes.count ? 0 : low

        pickNumber &+= 1
        var rejected = 0
        for _ in 0..<hashes.count {
            let owner = Int(owners[position])
            if lastRejected[owner] != pickNumber {
                if isEligible(owner) { return owner }
                lastRejected[owner] = pickNumber
                rejected += 1
                if rejected == ownerCount { return nil }
            }
            position += 1
            if position == hashes.count { position = 0 }
        }
        return nil
    }
}
