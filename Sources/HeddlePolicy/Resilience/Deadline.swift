import HeddleCore

/// Request deadlines: the one a request must meet, and the headers that carry the time left to
/// the next hop (`grpc-timeout` for gRPC, `heddle-deadline` between Heddle proxies and for
/// plain HTTP). Headers carry remaining time, not instants, so hops need no shared clock.
public enum Deadline {
    /// The earlier of `now + routeTimeout` and `now + incoming` (the time left that the
    /// request arrived with); nil when neither applies. A `routeTimeout` of zero or less means
    /// the route sets none, as Envoy's `timeout: 0s` does; an `incoming` of zero has already
    /// passed.
    public static func effective(now: Instant, routeTimeout: Duration?, incoming: Duration?) -> Instant? {
        let route = routeTimeout.flatMap { $0 > .zero ? now.advanced(by: $0) : nil }
        let caller = incoming.map { now.advanced(by: max($0, .zero)) }
        switch (route, caller) {
        case let (route?, caller?): return min(route, caller)
        case let (route?, nil): return route
        case let (nil, caller?): return caller
        case (nil, nil): return nil
        }
    }

    /// `nanoseconds / divisor`, rounded up; both positive.
    static func dividedRoundingUp(_ nanoseconds: Int64, by divisor: Int64) -> Int64 {
        nanoseconds / divisor + (nanoseconds % divisor == 0 ? 0 : 1)
    }
}
