import Foundation
import SwiftASN1
import X509

extension Certificate {
    /// The certificate's key identifier: its subject key identifier, or the hash of its key
    /// when it names none — what the certificates it signs carry as their authority key id.
    public var keyIdentifier: ArraySlice<UInt8> {
        (try? extensions.subjectKeyIdentifier)?.keyIdentifier ?? SubjectKeyIdentifier(hash: publicKey).keyIdentifier
    }

    /// `keyIdentifier` in lowercase hex.
    public var keyIdentifierHex: String { Hex.encode(keyIdentifier) }

    /// The key identifier of the CA that signed this certificate, in lowercase hex; nil when it
    /// names none.
    public var authorityKeyIdentifierHex: String? {
        ((try? extensions.authorityKeyIdentifier) ?? nil)?.keyIdentifier.map { Hex.encode($0) }
    }
}

/// Lowercase hex, for key identifiers and the secrets kept in files.
public enum Hex {
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The bytes of `text` (either case); nil when it is not an even number of hex digits.
    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
