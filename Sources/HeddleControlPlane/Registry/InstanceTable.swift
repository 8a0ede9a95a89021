/// The registered instances by id, with an index by address, so that a registration finds the
/// instance already at its address without walking (and copying) every other one.
struct InstanceTable {
    private struct Address: Hashable {
        var service: String
        var host: String
        var port: Int
    }

    private(set) var byID: [String: RegisteredInstance]
    private var byAddress: [Address: String] = [:]

    init(_ byID: [String: RegisteredInstance] = [:]) {
        self.byID = byID
        for (id, instance) in byID {
            byAddress[Self.address(of: instance)] = id
        }
    }

    subscript(id: String) -> RegisteredInstance? {
        get { byID[id] }
        set {
            if let old = byID[id] { byAddress[Self.address(of: old)] = nil }
            byID[id] = newValue
            if let newValue { byAddress[Self.address(of: newValue)] = id }
        }
    }

    /// The id of the instance of `service` at `host:port`, if one is registered.
    func id(service: String, host: String, port: Int) -> String? {
        byAddress[Address(service: service, host: host, port: port)]
    }

    var values: Dictionary<String, RegisteredInstance>.Values { byID.values }
    var keys: Dictionary<String, RegisteredInstance>.Keys { byID.keys }
    var count: Int { byID.count }

    private static func address(of instance: RegisteredInstance) -> Address {
        Address(service: instance.stored.service, host: instance.stored.address, port: instance.stored.port)
    }
}
