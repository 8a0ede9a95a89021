#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import HeddleCore

/// One endpoint's peak-EWMA round-trip-time estimate, in nanoseconds.
///
/// With `w = exp(-elapsed / decay)` for the time since the last response:
/// - between responses the estimate relaxes toward the default: `default + (e - default) × w`;
/// - a response at least as slow as that current estimate replaces it (the peak);
/// - a faster one pulls it down: `min(e, current) × w + rtt × (1 - w)`, so a response covers
///   the time since the previous one and frequent responses converge on their own latency;
/// - before the first response the estimate is the default, and the first response replaces it.
struct PeakEWMA: Sendable {
    /// The decay time constant and the default estimate, in nanoseconds.
    struct Configuration: Sendable {
        let decayNanoseconds: Double
        let defaultNanoseconds: Double

        /// `decay` is at least 1 ns, so the weight is always defined.
        init(decay: Duration, defaultRTT: Duration) {
            decayNanoseconds = max(PeakEWMA.nanoseconds(decay), 1)
            defaultNanoseconds = PeakEWMA.nanoseconds(defaultRTT)
        }

        /// How much of an estimate made at `earlier` still counts at `now`: `exp(-elapsed / decay)`.
        func weight(from earlier: Instant, to now: Instant) -> Double {
            guard now.nanoseconds > earlier.nanoseconds else { return 1 }
            return exp(-Double(now.nanoseconds - earlier.nanoseconds) / decayNanoseconds)
        }
    }

    /// The estimate as of `observedAt`; meaningless before the first response.
    private var estimate: Double = 0
    private var observedAt: Instant?
    /// Whether a response has been observed (before that, the estimate is the default).
    private var sampled = false

    /// The estimate at `now`, in nanoseconds.
    func value(at now: Instant, _ configuration: Configuration) -> Double {
        guard let observedAt else { return configuration.defaultNanoseconds }
        return relaxed(configuration.weight(from: observedAt, to: now), configuration)
    }

    /// Folds in a response that took `rtt` and ended at `now`.
    /// Whether a response has been observed.
    var hasSample: Bool { sampled }

    mutating func observe(_ rtt: Duration, at now: Instant, _ configuration: Configuration) {
        let sample = Self.nanoseconds(rtt)
        defer { observedAt = now }
        guard sampled, let observedAt else {
            // The first response replaces the default.
            estimate = sample
            sampled = true
            return
        }
        let weight = configuration.weight(from: observedAt, to: now)
        let current = relaxed(weight, configuration)
        if sample >= current {
            estimate = sample
        } else {
            estimate = min(estimate, current) * weight + sample * (1 - weight)
        }
    }

    /// The estimate moved toward the default by `1 - weight` of the way.
    /// The estimate decayed toward zero by `weight`, as Finagle's and linkerd2-proxy's do: an
    /// endpoint left alone becomes cheap again and is tried, so one slow response cannot
    /// starve it for good. (Relaxing toward the default RTT instead starved every endpoint
    /// whose estimate had once risen above faster peers below the default.)
    private func relaxed(_ weight: Double, _ configuration: Configuration) -> Double {
        estimate * weight
    }

    /// `duration` in nanoseconds, clamped to 0 ... 10¹⁸ (about 31 years) so that every
    /// estimate converts back to a `Duration` exactly.
    static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) * 1e9 + Double(attoseconds) * 1e-9
        return min(max(value, 0), 1e18)
    }
}
