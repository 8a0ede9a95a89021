import Hummingbird
import HTTPTypes
import NIOCore

/// `GET /`: the dashboard page (`DashboardPage`). Read-only like the rest of the reading API;
/// the page loads nothing from elsewhere, which its content security policy holds it to.
enum DashboardRoutes {
    static func add(to router: Router<APIRequestContext>) {
        let page = ByteBuffer(string: DashboardPage.html)
        let headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-cache",
            .contentSecurityPolicy: "default-src 'none'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        router.get("/") { _, _ in
            Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: page))
        }
        router.head("/") { _, _ in
            var head = headers
            head[.contentLength] = String(page.readableBytes)
            return Response(status: .ok, headers: head)
        }
    }
}
