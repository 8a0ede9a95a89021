import HeddleAPI

/// What a watch stream delivers: a push, or a keep-alive when there was nothing to push for a
/// while (a transport writes it as an empty line).
enum WatchEvent: Hashable, Sendable {
    case push(ConfigPush)
    case keepAlive
}
