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
}
