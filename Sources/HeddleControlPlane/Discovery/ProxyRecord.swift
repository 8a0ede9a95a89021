import HeddleAPI

/// What the control plane keeps of a proxy that has watched: the service it watched for, and
/// its last acknowledgement.
struct ProxyRecord: Hashable, Sendable {
    var service: String?
    var ack: PushAck?
}
