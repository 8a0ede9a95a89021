import Benchmark
import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import HeddleProxy
import NIOCore

/// A parser and its caller-owned field storage, as one connection holds them.
private struct ParseState {
    var parser = HTTP1HeadParser()
    var fields: [HTTP1Field] = []
}

func registerHTTP1Benchmarks() {
    let requestBytes = Fixture.buffer(Fixture.request)
    let requestParse = Box(ParseState())
    Benchmark("HTTP1: parse request head (9 fields, \(requestBytes.readableBytes) B)") { benchmark in
        requestParse.with { state in
            for _ in benchmark.scaledIterations {
                guard case .head(let head, let consumed) = state.parser.parseRequest(requestBytes, fields: &state.fields) else {
                    fatalError("the request fixture no longer parses")
                }
                blackHole(consumed)
                blackHole(head.hostRange)
            }
        }
    }

    let responseBytes = Fixture.buffer(Fixture.response)
    let responseParse = Box(ParseState())
    Benchmark("HTTP1: parse response head (6 fields, \(responseBytes.readableBytes) B)") { benchmark in
        responseParse.with { state in
            for _ in benchmark.scaledIterations {
                guard case .head(let head, let consumed) = state.parser.parseResponse(responseBytes, requestMethod: .get, fields: &state.fields) else {
                    fatalError("the response fixture no longer parses")
                }
                blackHole(consumed)
                blackHole(head.bodyFraming)
            }
        }
    }

    // Upstream request heads, decided and written by the proxy's own `UpstreamRequestHead`
    // (outbound: no deadline to send, `heddle-client-id` untouched).
    let table = routeTable()
    let plain = Fixture.requestHead("GET /v1/users/42 HTTP/1.1\r\nHost: users\r\nAccept: application/json\r\nX-Request-Id: 8d6f0a7e\r\n\r\n")
    let plainMatch = table.match(HTTP1RouteRequest(head: plain))!
    precondition(UpstreamRequestHead.make(from: plain, match: plainMatch) == plain.bytes, "an unedited head is forwarded as received")
    Benchmark("HTTP1: upstream request head, nothing to change (received bytes forwarded)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(UpstreamRequestHead.make(from: plain, match: plainMatch))
        }
    }

    let browser = Fixture.requestHead(Fixture.request.replacingOccurrences(of: "/api/v1/", with: "/catalog/"))
    let browserMatch = table.match(HTTP1RouteRequest(head: browser))!
    precondition(browserMatch.rule.label == "shop#2" && browserMatch.rule.requestHeaders == nil)
    precondition(UpstreamRequestHead.make(from: browser, match: browserMatch).readableBytes < browser.bytes.readableBytes, "Connection and Keep-Alive are dropped")
    Benchmark("HTTP1: upstream request head, hop-by-hop fields dropped (new buffer)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(UpstreamRequestHead.make(from: browser, match: browserMatch))
        }
    }

    let filtered = Fixture.requestHead(Fixture.request)
    let filteredMatch = table.match(HTTP1RouteRequest(head: filtered))!
    precondition(filteredMatch.rule.label == "shop#1" && filteredMatch.rule.requestHeaders != nil)
    let rewritten = UpstreamRequestHead.make(from: filtered, match: filteredMatch)
    precondition(String(buffer: rewritten).hasPrefix("GET /products/42?currency=EUR HTTP/1.1\r\n") && !String(buffer: rewritten).contains("Cookie"))
    Benchmark("HTTP1: upstream request head, route filters (prefix rewrite, set/add/remove fields)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(UpstreamRequestHead.make(from: filtered, match: filteredMatch))
        }
    }

    // The writer alone, into a buffer reused across requests: what the copy itself costs.
    let writeBuffer = Box(ByteBufferAllocator().buffer(capacity: 1024))
    Benchmark("HTTP1: HTTP1HeadWriter.writeRequestHead alone, hop-by-hop dropped (reused buffer)") { benchmark in
        writeBuffer.with { buffer in
            for _ in benchmark.scaledIterations {
                buffer.clear()
                try! HTTP1HeadWriter.writeRequestHead(browser, removingFieldsWhere: { browser.isHopByHop($0) }, into: &buffer)
                blackHole(buffer.readableBytes)
            }
        }
    }

    let response = Fixture.responseHead(Fixture.response)
    precondition(DownstreamResponseHead.rewrite(response, requestVersion: .http1_1, keepAlive: true, modifier: nil) == nil)
    Benchmark("HTTP1: downstream response head, keep-alive (received bytes forwarded)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(DownstreamResponseHead.rewrite(response, requestVersion: .http1_1, keepAlive: true, modifier: nil))
        }
    }

    precondition(DownstreamResponseHead.rewrite(response, requestVersion: .http1_1, keepAlive: false, modifier: nil) != nil)
    Benchmark("HTTP1: downstream response head, Connection: close (new buffer)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(DownstreamResponseHead.rewrite(response, requestVersion: .http1_1, keepAlive: false, modifier: nil))
        }
    }
}
