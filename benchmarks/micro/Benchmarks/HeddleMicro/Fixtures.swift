import HeddleHTTP1
import HeddlePolicy
import NIOCore

/// A request and a response as a mesh sidecar sees them: a browser-like request with a cookie,
/// and an upstream's answer.
enum Fixture {
    static let request = """
        GET /api/v1/products/42?currency=EUR HTTP/1.1\r
        Host: shop.example.com\r
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r
        Accept: application/json\r
        Accept-Encoding: gzip, deflate, br\r
        Accept-Language: en-GB,en;q=0.7\r
        Cookie: session=3f2a9c1e7b5d4a60; theme=dark\r
        X-Request-Id: 8d6f0a7e-3b1c-4f8e-9a2d-5c7b1e0f4a63\r
        Connection: keep-alive\r
        Keep-Alive: timeout=5\r
        \r

        """

    static let response = """
        HTTP/1.1 200 OK\r
        Content-Type: application/json\r
        Content-Length: 100\r
        Date: Fri, 27 Nov 2026 10:00:00 GMT\r
        Cache-Control: no-store\r
        Server: nginx\r
        Connection: keep-alive\r
        \r

        """

    static func buffer(_ text: String) -> ByteBuffer {
        ByteBufferAllocator().buffer(string: text)
    }

    /// `text` parsed as a request head; stops the run when it is not one.
    static func requestHead(_ text: String) -> HTTP1Head {
        var fields: [HTTP1Field] = []
        guard case .head(let head, _) = HTTP1HeadParser.parseRequest(buffer(text), fields: &fields) else {
            fatalError("fixture is not a valid request head:\n\(text)")
        }
        return head
    }

    static func responseHead(_ text: String, method: HTTPMethodKind = .get) -> HTTP1Head {
        var fields: [HTTP1Field] = []
        guard case .head(let head, _) = HTTP1HeadParser.parseResponse(buffer(text), requestMethod: method, fields: &fields) else {
            fatalError("fixture is not a valid response head:\n\(text)")
        }
        return head
    }
}

/// State a benchmark mutates across its iterations, made once before any is timed (the
/// benchmark closure runs once per measured iteration).
final class Box<Value> {
    private var value: Value?

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` on the value moved out of the box, so that its storage stays uniquely
    /// referenced (no copy on write) and the loop inside touches no class property.
    func with<Result>(_ body: (inout Value) -> Result) -> Result {
        var taken = value!
        value = nil
        defer { value = taken }
        return body(&taken)
    }
}
