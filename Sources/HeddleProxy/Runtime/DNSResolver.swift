#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeddleCore
import NIOCore

/// Resolves endpoint host names to every address they have (A and AAAA), with the system
/// resolver. Blocking: call it off the event loops.
enum DNSResolver {
    struct Failure: Error, CustomStringConvertible {
        let host: String
        let message: String
        var description: String { "cannot resolve '\(host)': \(message)" }
    }

    static func resolve(_ target: HostPort) throws -> [SocketAddress] {
        if target.isIPLiteral {
            return [try SocketAddress(ipAddress: target.host, port: target.port)]
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &result)
        guard status == 0, let first = result else {
            throw Failure(host: target.host, message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let raw = info.pointee.ai_addr {
                switch Int32(info.pointee.ai_family) {
                case AF_INET:
                    let address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(address, host: target.host))
                case AF_INET6:
                    let address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(address, host: target.host))
                default:
                    break
                }
            }
            cursor = info.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw Failure(host: target.host, message: "no addresses") }
        var seen: Set<String> = []
        return addresses.filter { seen.insert($0.description).inserted }
    }
}
