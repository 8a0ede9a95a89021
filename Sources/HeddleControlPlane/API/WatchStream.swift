import HeddleAPI
import Hummingbird
import NIOCore

/// A watch as an HTTP response: newline-delimited JSON, one `ConfigPush` per line — the first
/// whole, each later one a delta from the one before — an empty line as keep-alive, open until
/// the client goes or the control plane shuts down. A watch resumed from a configuration with
/// the digest of the first push starts with an empty delta from the version the proxy holds
/// instead (nothing to resend).
enum WatchStream {
    static let contentType = "application/x-ndjson"

    /// The lines written so far, shared by every stream (`PushEncodings`).
    static let encodings = PushEncodings()

    static func response(_ watch: ConfigWatch) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: ResponseBody { writer in
                // A failed write (the client went) ends the watch too.
                defer { watch.cancel() }
                var sent: ConfigPush?
                for await event in watch.events {
                    switch event {
                    case .push(let whole):
                        // The watch yields whole configurations; the stream sends what changed
                        // since the last one it wrote.
                        let push: ConfigPush?
                        if let sent {
                            push = whole.delta(from: sent)
                        } else if let resume = watch.resume, resume.digest == whole.digest {
                            push = ConfigPush(version: whole.version, baseVersion: resume.version, changed: [], removed: [])
                        } else {
                            push = whole
                        }
                        sent = whole
                        guard let push else { continue }
                        try await writer.write(encodings.line(for: push))
                    case .keepAlive:
                        try await writer.write(ByteBuffer(string: "\n"))
                    }
                }
                try await writer.finish(nil)
            })
    }
}
