extension OutlierDetector {
    /// When an `OutlierDetector` ejects endpoints and for how long: Envoy's outlier detection
    /// settings and defaults, except `maxEjectionPercent` (50, Envoy 10) and
    /// `successRateMinimumHosts` (3, Envoy 5).
    public struct Configuration: Hashable, Sendable {
        /// Failures in a row that eject an endpoint at once; 0 turns this ejection off. Default 5.
        public var consecutiveFailures: Int
        /// How often success rates are compared and ejection multipliers decay. Default 10 s.
        public var interval: Duration
        /// The first ejection's length; the n-th lasts n times as long. Default 30 s.
        public var baseEjectionTime: Duration
        /// The longest ejection (raised to `baseEjectionTime` if below it). Default 300 s.
        public var maxEjectionTime: Duration
        /// An endpoint is ejected only while fewer than this share (in percent, 0 ... 100) of
        /// all endpoints are ejected, checked before the ejection as Envoy does. Default 50.
        public var maxEjectionPercent: Int
        /// Success rates are compared only when at least this many endpoints have
        /// `successRateRequestVolume` requests in the interval. Default 3.
        public var successRateMinimumHosts: Int
        /// The requests an endpoint needs in an interval for its success rate to count.
        /// Default 100.
        public var successRateRequestVolume: Int
        /// An endpoint is ejected when its success rate is below the mean by more than this
        /// many standard deviations. Default 1.9.
        public var successRateStdevFactor: Double

        public init(
            consecutiveFailures: Int = 5,
            interval: Duration = .seconds(10),
            baseEjectionTime: Duration = .seconds(30),
            maxEjectionTime: Duration = .seconds(300),
            maxEjectionPercent: Int = 50,
            successRateMinimumHosts: Int = 3,
            successRateRequestVolume: Int = 100,
            successRateStdevFactor: Double = 1.9
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.interval = interval
            self.baseEjectionTime = baseEjectionTime
            self.maxEjectionTime = maxEjectionTime
            self.maxEjectionPercent = maxEjectionPercent
            self.successRateMinimumHosts = successRateMinimumHosts
            self.successRateRequestVolume = successRateRequestVolume
            self.successRateStdevFactor = successRateStdevFactor
        }
    }
}
