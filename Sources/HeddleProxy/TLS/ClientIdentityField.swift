import NIOHPACK

/// What the inbound listener does with `heddle-client-id`, the header that tells the app which
/// workload called: any value a request arrives with is removed (a caller cannot claim an
/// identity by sending the header), and the identity the caller proved with its certificate, if
/// any, is set. Other listeners leave the header as it is. Public because
/// `UpstreamRequestHead.make` takes it (the micro benchmarks call that).
public enum ClientIdentityField {
    case untouched
    /// Remove what arrived; set the identity when there is one.
    case replaced(String?)

    static let name = "heddle-client-id"

    /// For a request arriving on `listener`, from a peer whose handshake found `peer`.
    static func forRequest(inbound: Bool, peer: PeerCheck?) -> ClientIdentityField {
        inbound ? .replaced(peer?.identity) : .untouched
    }

    /// `headers` with the field applied (HTTP/2 header blocks).
    func apply(to headers: inout HPACKHeaders) {
        guard case .replaced(let identity) = self else { return }
        headers.remove(name: Self.name)
        if let identity { headers.add(name: Self.name, value: identity) }
    }
}
