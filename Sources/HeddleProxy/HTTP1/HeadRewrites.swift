import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import HeddleTracing
import NIOCore

/// Builds the request head sent upstream: the received bytes as they are when nothing needs to
/// change (the common case, no copy), else rewritten for hop-by-hop fields, absolute-form
/// targets, and the route's header and URL filters. Public for the micro benchmarks
/// (`benchmarks/micro`), which time and count the allocations of this very code.
public enum UpstreamRequestHead {
    static let allocator = ByteBufferAllocator()

    /// `deadline`: a `heddle-deadline` value (the time left, in milliseconds) to send in
    /// place of the one received.
    /// `clientIdentity`: on the inbound listener, `heddle-client-id` is replaced.
    /// `traceParent`: when the proxy traces, the `traceparent` naming this hop's span, sent in
    /// place of the one received.
    public static func make(
        from head: HTTP1Head, match: RouteMatch, deadline: String? = nil, clientIdentity: ClientIdentityField = .untouched, traceParent: String? = nil
    ) -> ByteBuffer {
        let rule = match.rule
        // The path is made a string only when the rule rewrites it.
        let newPath = rule.rewrite?.path == nil ? nil : match.rewrittenPath(Substring(head.pathRange.isEmpty ? "/" : head.path))
        let hasHopByHop = head.fields.contains { head.isHopByHop($0) }
        var identityToSet: String?
        var replacesIdentity = false
        if case .replaced(let identity) = clientIdentity {
            identityToSet = identity
            replacesIdentity = identity != nil || head.fields.contains { head.bytesEqual($0.name, lowercaseASCII: ClientIdentityField.name) }
        }
        if head.targetForm == .origin, !hasHopByHop, rule.requestHeaders == nil, rule.rewrite == nil, deadline == nil, !replacesIdentity {
            guard let traceParent else { return head.bytes }
            if let traced = withTraceParent(head, traceParent) { return traced }
        }
        let modifier = rule.requestHeaders
        // Lowercased names, compared with each field's bytes (no string made per field).
        var removed = (modifier?.remove.map { $0.lowercased() } ?? []) + (modifier?.set.map { $0.name.lowercased() } ?? [])
        var extra: [HTTP1HeadWriter.Field] = []
        if replacesIdentity {
            removed.append(ClientIdentityField.name)
            if let identityToSet { extra.append(.init(name: .init(ClientIdentityField.name), value: .init(identityToSet))) }
        }
        if head.isUpgrade {
            extra.append(.init(name: "Connection", value: "Upgrade"))
        }
        if let deadline {
            removed.append(Deadline.heddleDeadlineHeader)
            extra.append(.init(name: .init(Deadline.heddleDeadlineHeader), value: .init(deadline)))
        }
        if let traceParent {
            removed.append(TraceHeaders.traceParent)
            extra.append(.init(name: .init(TraceHeaders.traceParent), value: .init(traceParent)))
        }
        for value in (modifier?.set ?? []) + (modifier?.add ?? []) {
            extra.append(.init(name: .init(value.name), value: .init(value.value)))
        }
        let target: HTTP1HeadWriter.Target
        if let newPath {
            target = .replaced(.init(head.query.map { newPath + "?" + $0 } ?? newPath))
        } else {
            target = head.targetForm == .absolute ? .originForm : .original
        }
        var host: HTTP1HeadWriter.Text?
        if let hostname = rule.rewrite?.hostname {
            host = .init(hostname)
        } else if head.targetForm == .absolute, let authority = head.authorityRange {
            host = .init(head.slice(authority))
        }
        var buffer = allocator.buffer(capacity: head.bytes.readableBytes + 128)
        do {
            try HTTP1HeadWriter.writeRequestHead(
                head, target: target, host: host,
                removingFieldsWhere: { field in
                    if head.isUpgrade, head.bytesEqual(field.name, lowercaseASCII: "upgrade") { return false }
                    if head.isHopByHop(field) { return true }
                    return removed.contains { head.bytesEqual(field.name, lowercaseASCII: $0) }
                },
                appending: extra, into: &buffer)
        } catch {
            // Config validation admits only valid names and values; should a rewrite still be
            // refused, the request goes out as received rather than malformed.
            return head.bytes
        }
        return buffer
    }
}

extension UpstreamRequestHead {
    /// The head as received with only `traceparent` set: one copy, with the received field's
    /// value overwritten in place when it has the same length (a valid version-00 value), else
    /// the field appended before the blank line. Nil when the head holds several `traceparent`
    /// fields or one of another length: the general rewrite removes them.
    static func withTraceParent(_ head: HTTP1Head, _ value: String) -> ByteBuffer? {
        var found: HTTP1Field?
        for field in head.fields where head.bytesEqual(field.name, lowercaseASCII: TraceHeaders.traceParent) {
            guard found == nil else { return nil }
            found = field
        }
        var buffer = allocator.buffer(capacity: head.bytes.readableBytes + 72)
        if let found {
            guard found.value.count == value.utf8.count else { return nil }
            buffer.writeImmutableBuffer(head.bytes)
            buffer.setString(value, at: buffer.readerIndex + found.value.lowerBound)
            return buffer
        }
        // A parsed head always ends with CRLF CRLF (a bare LF is refused).
        let withoutBlankLine = head.bytes.getSlice(at: head.bytes.readerIndex, length: head.bytes.readableBytes - 2)!
        buffer.writeImmutableBuffer(withoutBlankLine)
        buffer.writeStaticString("traceparent: ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n\r\n")
        return buffer
    }
}

/// Builds the response head sent to the client: as received unless hop-by-hop fields, the
/// route's response filter, or the client connection's fate (close, or HTTP/1.0 keep-alive)
/// need it rewritten. Public for the micro benchmarks (`benchmarks/micro`).
public enum DownstreamResponseHead {
    /// The head to send, or nil when the received bytes can go as they are.
    public static func rewrite(_ head: HTTP1Head, requestVersion: HTTP1Version, keepAlive: Bool, modifier: HeaderModifier?) -> ByteBuffer? {
        var onlyKeepAlive = true
        var hasHopByHop = false
        for field in head.fields where head.isHopByHop(field) {
            hasHopByHop = true
            if !(head.bytesEqual(field.name, lowercaseASCII: "connection") && head.bytesEqual(field.value, lowercaseASCII: "keep-alive")) {
                onlyKeepAlive = false
            }
        }
        let connectionAgrees = keepAlive && requestVersion == .http1_1 && (!hasHopByHop || onlyKeepAlive)
        if modifier == nil, connectionAgrees {
            return nil
        }
        let removed = Set((modifier?.remove ?? []) + (modifier?.set.map { $0.name.lowercased() } ?? []))
        var extra: [HTTP1HeadWriter.Field] = []
        if !keepAlive {
            extra.append(.init(name: "Connection", value: "close"))
        } else if requestVersion == .http1_0 {
            extra.append(.init(name: "Connection", value: "keep-alive"))
        }
        for value in (modifier?.set ?? []) + (modifier?.add ?? []) {
            extra.append(.init(name: .init(value.name), value: .init(value.value)))
        }
        var buffer = UpstreamRequestHead.allocator.buffer(capacity: head.bytes.readableBytes + 64)
        do {
            try HTTP1HeadWriter.writeResponseHead(
                head,
                removingFieldsWhere: { field in
                    head.isHopByHop(field) || (!removed.isEmpty && removed.contains(head.string(field.name).lowercased()))
                },
                appending: extra, into: &buffer)
        } catch {
            return nil
        }
        return buffer
    }

    /// The head to send: the rewrite, or the received bytes.
    static func make(from head: HTTP1Head, requestVersion: HTTP1Version, keepAlive: Bool, modifier: HeaderModifier?) -> ByteBuffer {
        rewrite(head, requestVersion: requestVersion, keepAlive: keepAlive, modifier: modifier) ?? head.bytes
    }
}

/// A response the proxy makes itself, explaining why: the status, `heddle-error`, RFC 9209
/// `Proxy-Status`, and a one-line text body.
enum ProxyErrorResponse {
    /// `headRequest`: the request was HEAD, so the response carries no body (RFC 9110 §9.3.2);
    /// a body there would be read as the start of the next response.
    static func make(_ failure: ProxyFailure, version: HTTP1Version, keepAlive: Bool, headRequest: Bool = false) -> ByteBuffer {
        var fields: [HTTP1HeadWriter.Field] = [
            .init(name: "Content-Type", value: "text/plain; charset=utf-8"),
            .init(name: "heddle-error", value: .init(failure.reason.identifier)),
            .init(name: "Proxy-Status", value: .init(failure.proxyStatus)),
        ]
        if let seconds = failure.retryAfterSeconds {
            fields.append(.init(name: "Retry-After", value: .init(String(seconds))))
        }
        if let id = failure.requestID {
            fields.append(.init(name: .init(FailureLog.requestIDHeader), value: .init(id)))
        }
        if !keepAlive {
            fields.append(.init(name: "Connection", value: "close"))
        } else if version == .http1_0 {
            fields.append(.init(name: "Connection", value: "keep-alive"))
        }
        let body = "heddle: \(failure.reason.identifier): \(Self.printable(failure.details))\n"
        var buffer = UpstreamRequestHead.allocator.buffer(capacity: 256 + body.utf8.count)
        do {
            try HTTP1HeadWriter.writeResponse(
                status: failure.status, reason: .init(ProxyErrorReason.reasonPhrase(for: failure.status)),
                fields: fields, body: headRequest ? nil : .init(body), into: &buffer)
        } catch {
            buffer.clear()
            buffer.writeString("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nheddle-error: \(failure.reason.identifier)\r\nConnection: close\r\n\r\n")
        }
        return buffer
    }

    /// Details with anything unprintable replaced, so a client's bytes never reach a header or
    /// a terminal as they are.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(300).map { (" "..."~").contains($0) ? $0 : "?" }))
    }
}
