import HeddleCore
import NIOCore
import Testing

@testable import HeddleProxy

/// `DNSResolver`: IP literals without a lookup, names through the system resolver.
@Suite("DNSResolver")
struct DNSResolverTests {
    @Test("An IPv4 literal resolves to itself with the port", arguments: [("10.0.0.1", 8080), ("127.0.0.1", 1), ("0.0.0.0", 65535)])
    func ipv4Literal(host: String, port: Int) throws {
        let addresses = try DNSResolver.resolve(HostPort(host: host, port: port))
        #expect(addresses.count == 1)
        #expect(addresses.first?.ipAddress == host)
        #expect(addresses.first?.port == port)
        #expect(addresses.first?.protocol == .inet)
    }

    @Test("An IPv6 literal resolves to itself with the port", arguments: ["::1", "2001:db8::1", "fe80::1:2"])
    func ipv6Literal(host: String) throws {
        let addresses = try DNSResolver.resolve(HostPort(host: host, port: 443))
        #expect(addresses.count == 1)
        #expect(addresses.first?.ipAddress == host)
        #expect(addresses.first?.port == 443)
        #expect(addresses.first?.protocol == .inet6)
    }

    @Test("An IPv6 literal's key in the snapshot is bracketed")
    func ipv6LiteralKey() throws {
        let target = HostPort(host: "::1", port: 8080)
        let address = try #require(try DNSResolver.resolve(target).first)
        #expect(ResolvedEndpoint(address: address, weight: 1, configured: target).key == "[::1]:8080")
    }

    @Test("localhost resolves to loopback addresses only, each once, with the port")
    func localhost() throws {
        let addresses = try DNSResolver.resolve(HostPort(host: "localhost", port: 4140))
        #expect(!addresses.isEmpty)
        for address in addresses {
            let ip = try #require(address.ipAddress)
            #expect(ip.hasPrefix("127.") || ip == "::1", "\(ip) is not loopback")
            #expect(address.port == 4140)
        }
        #expect(Set(addresses.map(\.description)).count == addresses.count, "duplicates: \(addresses)")
    }

    @Test("A name under .invalid fails with an error naming the host")
    func invalidName() throws {
        // RFC 6761 §6.4: names under `.invalid` never resolve.
        let host = "no-such-host.invalid"
        let failure = try #require(#expect(throws: DNSResolver.Failure.self) {
            _ = try DNSResolver.resolve(HostPort(host: host, port: 80))
        })
        #expect(failure.host == host)
        #expect(!failure.message.isEmpty)
        #expect(failure.description.hasPrefix("cannot resolve '\(host)': "))
    }
}
