#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a secret (a private key, a token key) to a file readable by its owner only: created
/// with mode 0600 from the start — never readable by others, even for a moment — and synced.
public enum PrivateFile {
    /// Writes `text` to `path`; `exclusive` refuses to replace an existing file.
    public static func write(_ text: String, to path: String, exclusive: Bool = false) throws(IdentityError) {
        let flags = O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC)
        let descriptor = open(path, flags, 0o600)
        guard descriptor >= 0 else { throw IdentityError(.invalidCertificate, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { buffer in
            #if canImport(Glibc)
            Glibc.write(descriptor, buffer.baseAddress, buffer.count)
            #else
            Darwin.write(descriptor, buffer.baseAddress, buffer.count)
            #endif
        }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw IdentityError(.invalidCertificate, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
