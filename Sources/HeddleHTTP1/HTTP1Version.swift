/// The HTTP/1 versions the parsers accept; any other version is an error.
public enum HTTP1Version: Sendable, Hashable {
    case http1_0
    case http1_1
}
