import HeddleCore
import HeddlePolicy
import NIOHPACK

/// The header blocks the proxy sends on for an HTTP/2 stream: the request as received unless
/// the route rewrites its path or authority or edits its headers, and the response as received
/// unless the route edits its headers. Names the route gives are lowercased, as HTTP/2 requires.
enum HTTP2HeaderRewrites {
    /// The request header block for the upstream.
    /// `clientIdentity`: on the inbound listener, `heddle-client-id` is replaced.
    static func request(_ request: HTTP2RouteRequest, match: RouteMatch, clientIdentity: ClientIdentityField = .untouched) -> HPACKHeaders {
        let rule = match.rule
        let newPath = match.rewrittenPath(request.path)
        let hostname = rule.rewrite?.hostname
        let modifier = rule.requestHeaders
        if newPath == nil, hostname == nil, modifier == nil {
            guard case .replaced = clientIdentity else { return request.headers }
            var headers = request.headers
            clientIdentity.apply(to: &headers)
            return headers
        }
        var out = HPACKHeaders()
        out.reserveCapacity(request.headers.count + 4)
        let removed = removedNames(modifier)
        for (name, value, indexing) in request.headers {
            switch name {
            case ":path" where newPath != nil:
                out.add(name: name, value: request.query.map { newPath! + "?" + $0 } ?? newPath!, indexing: indexing)
            case ":authority" where hostname != nil, "host" where hostname != nil:
                out.add(name: name, value: hostname!, indexing: indexing)
            default:
                if !name.hasPrefix(":"), removed.contains(name) { continue }
                out.add(name: name, value: value, indexing: indexing)
            }
        }
        append(modifier, to: &out)
        clientIdentity.apply(to: &out)
        return out
    }

    /// The response header block for the client, with the route's response filter applied.
    static func response(_ headers: HPACKHeaders, modifier: HeaderModifier?) -> HPACKHeaders {
        guard let modifier else { return headers }
        var out = HPACKHeaders()
        out.reserveCapacity(headers.count + 4)
        let removed = removedNames(modifier)
        for (name, value, indexing) in headers where name.hasPrefix(":") || !removed.contains(name) {
            out.add(name: name, value: value, indexing: indexing)
        }
        append(modifier, to: &out)
        return out
    }

    /// Names a filter removes or replaces, lowercased. Pseudo-headers and the fields that frame
    /// a message are never among them (configuration validation refuses them).
    private static func removedNames(_ modifier: HeaderModifier?) -> Set<String> {
        guard let modifier else { return [] }
        return Set(modifier.remove.map { $0.lowercased() } + modifier.set.map { $0.name.lowercased() })
    }

    private static func append(_ modifier: HeaderModifier?, to headers: inout HPACKHeaders) {
        guard let modifier else { return }
        for value in modifier.set + modifier.add {
            headers.add(name: value.name.lowercased(), value: value.value)
        }
    }

    /// The caller's deadline, passed on shrunk by the time spent here (`remaining`, in
    /// nanoseconds): `grpc-timeout` for gRPC calls and `heddle-deadline` always, so the next
    /// hop never waits longer than the caller will. Nil leaves the block as it is (a call
    /// without a deadline gets none from the proxy: a long stream must not be cut).
    static func withDeadline(_ headers: HPACKHeaders, grpc: Bool, remaining: UInt64?) -> HPACKHeaders {
        guard let remaining else { return headers }
        var out = headers
        let left = Duration.nanoseconds(Int64(clamping: remaining))
        if grpc { out.replaceOrAdd(name: "grpc-timeout", value: Deadline.formatGRPCTimeout(left)) }
        out.replaceOrAdd(name: Deadline.heddleDeadlineHeader, value: Deadline.formatHeddleDeadline(left))
        return out
    }
}
