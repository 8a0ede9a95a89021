import HeddleAPI
import HeddleCore

extension FieldError {
    /// The wire form of a configuration error; `resource` names the resource when the error
    /// does not.
    init(_ error: ConfigError, resource: String) {
        self.init(resource: error.resource ?? resource, path: error.path, reason: error.reason, line: error.line)
    }
}
