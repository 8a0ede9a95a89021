import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import NIOCore

/// The decisions of HeddleProxy's `UpstreamRequestHead.make` and `DownstreamResponseHead.rewrite`
/// (Sources/HeddleProxy/HTTP1/HeadRewrites.swift, internal to that module), over the public
/// `HTTP1Head` and `HTTP1HeadWriter`, so that the benchmarks count what a request's heads
/// cost the proxy, allocations included. Kept in step with that file by hand; the parts for
/// `heddle-deadline`, `heddle-client-id` and upgrades are left out.
enum ProxyHeads {
    static let allocator = ByteBufferAllocator()

    static func upstream(_ head: HTTP1Head, match: RouteMatch) -> ByteBuffer {
        let rule = match.rule
        let newPath = match.rewrittenPath(Substring(head.pathRange.isEmpty ? "/" : head.path))
        let hasHopByHop = head.fields.contains { head.isHopByHop($0) }
        if head.targetForm == .origin, !hasHopByHop, rule.requestHeaders == nil, rule.rewrite == nil {
            return head.bytes
        }
        let modifier = rule.requestHeaders
        let removed = Set((modifier?.remove ?? []) + (modifier?.set.map { $0.name.lowercased() } ?? []))
        var extra: [HTTP1HeadWriter.Field] = []
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
                    if head.isHopByHop(field) { return true }
                    return !removed.isEmpty && removed.contains(head.string(field.name).lowercased())
                },
                appending: extra, into: &buffer)
        } catch {
            return head.bytes
        }
        return buffer
    }

    static func downstream(_ head: HTTP1Head, requestVersion: HTTP1Version, keepAlive: Bool, modifier: HeaderModifier?) -> ByteBuffer? {
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
        var buffer = allocator.buffer(capacity: head.bytes.readableBytes + 64)
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
}
