import HeddleAPI
import HeddleCore

/// A stored resource as the control plane holds it: the store's record and what its document
/// decodes to.
struct ResourceEntry: Sendable {
    var stored: StoredResource
    /// The decoded resource; nil when the stored document no longer decodes (written by another
    /// version, say), with the reasons in `decodeErrors`.
    var resource: Resource?
    var decodeErrors: [FieldError]

    init(stored: StoredResource, resource: Resource) {
        self.stored = stored
        self.resource = resource
        self.decodeErrors = []
    }

    /// Decodes a document read back from the store.
    init(restoring stored: StoredResource) {
        self.stored = stored
        let reference = "\(stored.kind)/\(stored.name)"
        do {
            let resources = try ResourceDecoder.decode(yaml: stored.document)
            if resources.count == 1, let resource = resources.first, resource.reference == reference {
                self.resource = resource
                self.decodeErrors = []
            } else {
                self.resource = nil
                self.decodeErrors = [FieldError(resource: reference, path: "", reason: "the stored document does not hold exactly \(reference)")]
            }
        } catch {
            self.resource = nil
            self.decodeErrors = error.errors.map { FieldError($0, resource: reference) }
        }
    }
}
