import HeddleAPI

/// Why the control plane refused or failed an operation, in words an operator can act on. A
/// struct over a private set of codes, so new codes don't break callers.
public struct ControlPlaneError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure; the HTTP API answers each with its own status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalid
            case notFound = "not-found"
            case conflict
            case unavailable
            case forbidden
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The request is wrong: a field error, an unknown kind, a name of the wrong shape.
        public static let invalid = Code(.invalid)
        /// The resource or instance does not exist.
        public static let notFound = Code(.notFound)
        /// A compare-and-swap found another revision.
        public static let conflict = Code(.conflict)
        /// The store cannot be used, or the control plane is shutting down.
        public static let unavailable = Code(.unavailable)
        /// The caller did not prove who it is (a join token or certificate refused).
        public static let forbidden = Code(.forbidden)

        /// `invalid`, `not-found`, `conflict`, `unavailable` or `forbidden`, as in `APIError.code`.
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// For `invalid`: every field error found.
    public var errors: [FieldError]
    /// For `conflict`: the revision the resource is at now (0 when it does not exist).
    public var currentRevision: Int64?

    public init(_ code: Code, _ message: String, errors: [FieldError] = [], currentRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.errors = errors
        self.currentRevision = currentRevision
    }

    public var description: String {
        ([message] + errors.map { error in
            var text = "\(error.resource): "
            text += error.path.isEmpty ? error.reason : "\(error.path): \(error.reason)"
            if let line = error.line { text += " (line \(line))" }
            return text
        }).joined(separator: "\n")
    }
}

extension ControlPlaneError {
    /// The control plane's reading of a store failure.
    init(_ error: StoreError) {
        switch error {
        case let .conflict(_, _, current):
            self.init(.conflict, error.description, currentRevision: current)
        case .notFound:
            self.init(.notFound, error.description)
        case .tooLarge:
            self.init(.invalid, error.description)
        case .compacted, .unavailable:
            self.init(.unavailable, "the store failed: \(error.description)")
        }
    }

    /// The control plane's reading of any error a store throws.
    init(storeFailure error: any Error) {
        switch error {
        case let error as ControlPlaneError: self = error
        case let error as StoreError: self.init(error)
        default: self.init(.unavailable, "the store failed: \(error)")
        }
    }
}
