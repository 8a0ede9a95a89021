/// The request counters one proxy's metrics hold, by listener, route and backend: read from
/// `heddle_requests_total` and `heddle_request_duration_seconds_bucket`.
public struct TrafficReading: Sendable {
    /// Which requests a group holds: the proxy's labels.
    public struct Key: Hashable, Sendable, Comparable {
        public var listener: String
        public var route: String
        public var backend: String

        public init(listener: String, route: String, backend: String) {
            self.listener = listener
            self.route = route
            self.backend = backend
        }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.listener, lhs.route, lhs.backend) < (rhs.listener, rhs.route, rhs.backend)
        }
    }

    public var groups: [Key: RequestCounters]

    public init(groups: [Key: RequestCounters] = [:]) {
        self.groups = groups
    }

    public init(samples: [MetricSample]) {
        var groups: [Key: RequestCounters] = [:]
        for sample in samples {
            guard let listener = sample.labels["listener"], let route = sample.labels["route"], let backend = sample.labels["backend"] else { continue }
            let key = Key(listener: listener, route: route, backend: backend)
            switch sample.name {
            case "heddle_requests_total":
                groups[key, default: RequestCounters()].requests += sample.value
                if sample.labels["status_class"] == "5xx" { groups[key, default: RequestCounters()].failures += sample.value }
            case "heddle_request_duration_seconds_bucket":
                guard let bound = sample.labels["le"].flatMap(Self.bound) else { continue }
                groups[key, default: RequestCounters()].buckets[bound, default: 0] += sample.value
            default:
                continue
            }
        }
        self.groups = groups
    }

    /// The groups summed by `group` (nil leaves a group out).
    public func summed<Group: Hashable>(by group: (Key) -> Group?) -> [Group: RequestCounters] {
        var result: [Group: RequestCounters] = [:]
        for (key, counters) in groups {
            guard let name = group(key) else { continue }
            result[name] = (result[name] ?? RequestCounters()) + counters
        }
        return result
    }

    private static func bound(_ text: String) -> Double? {
        text == "+Inf" ? .infinity : Double(text)
    }
}
