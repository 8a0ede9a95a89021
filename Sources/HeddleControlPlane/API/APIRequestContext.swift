import Hummingbird
import NIOCore

/// A request's context in the control plane's API: Hummingbird's core storage, and the
/// address the request came from (for `AdminAccess`).
public struct APIRequestContext: RequestContext {
    public typealias Source = ApplicationRequestContextSource

    public var coreContext: CoreRequestContextStorage
    /// The peer's address; nil when the transport has none (a test's in-memory channel).
    public let remoteAddress: SocketAddress?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
