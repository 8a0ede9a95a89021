import HeddleAPI
import HeddleCore

/// Checks a registration before it is stored: a service name of the resource-name shape, an
/// address the proxy can dial, a known protocol, a weight and a lease in range.
enum RegistrationValidator {
    static let leaseRange = 1...3600
    static let weightRange = 0...1_000_000

    static func validate(_ request: RegisterRequest) throws(ControlPlaneError) {
        var errors: [FieldError] = []
        func fail(_ path: String, _ reason: String) {
            errors.append(FieldError(resource: "Instance", path: path, reason: reason))
        }
        if !ResourceMetadata.isValidName(request.service) {
            fail("service", "'\(request.service)' is not a valid service name (lowercase letters, digits and '-', at most 63 characters)")
        }
        if !(1...65535).contains(request.port) {
            fail("port", "must be between 1 and 65535")
        } else if request.address.isEmpty || HostPort(HostPort(host: request.address, port: request.port).description) == nil {
            fail("address", "'\(request.address)' is not an IP address or DNS name")
        }
        if UpstreamProtocol(rawValue: request.protocol) == nil {
            fail("protocol", "'\(request.protocol)' is not one of: \(UpstreamProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !weightRange.contains(request.weight) {
            fail("weight", "must be between \(weightRange.lowerBound) and \(weightRange.upperBound)")
        }
        if !leaseRange.contains(request.leaseSeconds) {
            fail("leaseSeconds", "must be between \(leaseRange.lowerBound) and \(leaseRange.upperBound)")
        }
        if let admin = request.adminAddress, HostPort(admin) == nil || HostPort(admin)?.port == 0 {
            fail("adminAddress", "'\(admin)' is not host:port")
        }
        for key in request.labels.keys where key.isEmpty {
            fail("labels", "label names must not be empty")
        }
        if !errors.isEmpty {
            throw ControlPlaneError(.invalid, "the registration is invalid", errors: errors)
        }
    }
}
