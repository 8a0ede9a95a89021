import Foundation

/// The messages of etcd's v3 API as its gRPC gateway speaks them in JSON (`/v3/kv/range`,
/// `/v3/kv/txn`, `/v3/watch`, ...): keys and values in base64, 64-bit integers as strings, and
/// fields at their zero value left out. Only the fields Heddle uses.
enum Etcd {
    /// A 64-bit integer the gateway writes as a string (and may leave out when 0).
    struct Int64Text: Codable, Hashable, Sendable, ExpressibleByIntegerLiteral {
        var value: Int64

        init(_ value: Int64) { self.value = value }
        init(integerLiteral value: Int64) { self.value = value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                value = number
            } else {
                let text = try container.decode(String.self)
                guard let number = Int64(text) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a 64-bit integer")
                }
                value = number
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(String(value))
        }
    }

    /// Bytes, base64 in JSON.
    struct Bytes: Codable, Hashable, Sendable {
        var data: [UInt8]

        init(_ text: String) { data = Array(text.utf8) }
        init(bytes: [UInt8]) { data = bytes }

        var text: String { String(decoding: data, as: UTF8.self) }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let decoded = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64")
            }
            data = Array(decoded)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(Data(data).base64EncodedString())
        }

        /// The end of the range of every key that starts with these bytes (etcd's prefix
        /// `range_end`): the last byte below 0xff incremented, the rest dropped.
        var prefixEnd: Bytes {
            var end = data
            while let last = end.last {
                if last < 0xFF {
                    end[end.count - 1] = last + 1
                    return Bytes(bytes: end)
                }
                end.removeLast()
            }
            return Bytes(bytes: [0])
        }
    }

    struct ResponseHeader: Codable, Hashable, Sendable {
        var revision: Int64Text?
    }

    struct KeyValue: Codable, Hashable, Sendable {
        var key: Bytes
        var value: Bytes?
        var create_revision: Int64Text?
        var mod_revision: Int64Text?
        var lease: Int64Text?
    }

    struct RangeRequest: Codable, Sendable {
        var key: Bytes
        var range_end: Bytes?
    }

    struct RangeResponse: Codable, Sendable {
        var header: ResponseHeader?
        var kvs: [KeyValue]?
    }

    struct PutRequest: Codable, Sendable {
        var key: Bytes
        var value: Bytes
        var lease: Int64Text?
        var prev_kv: Bool?
    }

    struct PutResponse: Codable, Sendable {
        var header: ResponseHeader?
        var prev_kv: KeyValue?
    }

    struct DeleteRangeRequest: Codable, Sendable {
        var key: Bytes
    }

    struct Compare: Codable, Sendable {
        /// `EQUAL`, `GREATER`, `LESS`, `NOT_EQUAL`.
        var result: String
        /// `VERSION`, `CREATE`, `MOD`, `VALUE`, `LEASE`.
        var target: String
        var key: Bytes
        var create_revision: Int64Text?
        var mod_revision: Int64Text?

        static func modRevision(of key: Bytes, is revision: Int64) -> Compare {
            Compare(result: "EQUAL", target: "MOD", key: key, mod_revision: Int64Text(revision))
        }

        static func absent(_ key: Bytes) -> Compare {
            Compare(result: "EQUAL", target: "CREATE", key: key, create_revision: 0)
        }

        static func present(_ key: Bytes) -> Compare {
            Compare(result: "GREATER", target: "CREATE", key: key, create_revision: 0)
        }
    }

    struct RequestOp: Codable, Sendable {
        var request_range: RangeRequest?
        var request_put: PutRequest?
        var request_delete_range: DeleteRangeRequest?
    }

    struct ResponseOp: Codable, Sendable {
        var response_range: RangeResponse?
        var response_put: PutResponse?
    }

    struct TxnRequest: Codable, Sendable {
        var compare: [Compare]
        var success: [RequestOp]
        var failure: [RequestOp]
    }

    struct TxnResponse: Codable, Sendable {
        var header: ResponseHeader?
        var succeeded: Bool?
        var responses: [ResponseOp]?
    }

    struct CompactionRequest: Codable, Sendable {
        var revision: Int64Text
        var physical: Bool?
    }

    struct WatchCreateRequest: Codable, Sendable {
        var key: Bytes
        var range_end: Bytes?
        var start_revision: Int64Text?
    }

    struct WatchRequest: Codable, Sendable {
        var create_request: WatchCreateRequest
    }

    struct Event: Codable, Hashable, Sendable {
        /// `PUT` (left out, the zero value) or `DELETE`.
        var type: String?
        var kv: KeyValue
    }

    struct WatchResponse: Codable, Sendable {
        var header: ResponseHeader?
        var canceled: Bool?
        var compact_revision: Int64Text?
        var cancel_reason: String?
        var events: [Event]?
    }

    struct WatchMessage: Codable, Sendable {
        var result: WatchResponse?
        var error: GatewayError?
    }

    struct LeaseGrantRequest: Codable, Sendable {
        var TTL: Int64Text
    }

    struct LeaseGrantResponse: Codable, Sendable {
        var header: ResponseHeader?
        var ID: Int64Text?
        var TTL: Int64Text?
        var error: String?
    }

    struct LeaseKeepAliveRequest: Codable, Sendable {
        var ID: Int64Text
    }

    /// The gateway streams keep-alive answers: `{"result": {...}}`.
    struct LeaseKeepAliveMessage: Codable, Sendable {
        struct Result: Codable, Sendable {
            var ID: Int64Text?
            var TTL: Int64Text?
        }

        var result: Result?
    }

    /// What the gateway answers instead of a response: the gRPC status and its message.
    struct GatewayError: Codable, Sendable {
        var error: String?
        var message: String?
        var code: Int?

        var text: String { message ?? error ?? "code \(code ?? -1)" }
    }

    struct Empty: Codable, Sendable {}
}
