/// Where the control plane's own CA is kept, so that a root rotation's phases outlive a
/// restart and, with replicas, reach every replica: `record` is what was read at start (its
/// trust domain and join-token key do not change afterwards).
enum IdentityKeeper: Sendable {
    /// In the data directory's files (`IdentityFiles`): one node.
    case directory(String, record: IdentityRecord)
    /// In the shared store (`StoreIdentity`): every replica reads it, and a rotation writes it
    /// by compare-and-swap on the revision it read.
    case store(any Store, record: IdentityRecord)
}
