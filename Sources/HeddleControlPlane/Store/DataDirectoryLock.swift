#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The control plane's data directory and its claim by one process.
///
/// Only one control plane may use a data directory at a time: two writers on one SQLite file
/// would each believe they own the revision counter's future. The claim is an exclusive
/// `flock` on `<directory>/heddle.lock`, taken without waiting and held for as long as the
/// store is open. The kernel drops it when the descriptor closes, including when the process
/// dies by `kill -9`, so a crashed control plane never leaves a stale lock behind: the file
/// itself stays and means nothing, only the lock on it counts. The holder writes its pid into
/// the file so that the one refused can say who holds it. `flock` is not reliable over
/// network file systems; the data directory belongs on a local disk.
public final class DataDirectoryLock: Sendable {
    /// The name of the lock file inside the data directory.
    static let fileName = "heddle.lock"

    let path: String
    /// The open lock file, or -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        release()
    }

    /// Creates `directory` (and its parents) when missing, then claims it. Throws
    /// `StoreError.unavailable` when the directory cannot be created or written, or when another
    /// control plane (in this process or another) holds it.
    public static func acquire(directory: String) throws(StoreError) -> DataDirectoryLock {
        try makeDirectory(directory, dataDirectory: directory)
        let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            switch code {
            case EACCES, EPERM, EROFS:
                throw .unavailable("data directory \(directory) is not writable (\(describe(code)))")
            default:
                throw .unavailable("cannot create the lock file \(path): \(describe(code))")
            }
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = readPID(descriptor)
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw .unavailable("cannot lock \(path): \(describe(code))")
            }
            let owner = holder.map { " (pid \($0))" } ?? ""
            throw .unavailable("data directory \(directory) is in use by another control plane\(owner); stop it or choose another data directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        let written = pid.withUnsafeBytes { bytes in pwrite(descriptor, bytes.baseAddress, bytes.count, 0) }
        guard ftruncate(descriptor, off_t(pid.count)) == 0, written == pid.count else {
            let code = errno
            close(descriptor)
            throw .unavailable("data directory \(directory) is not writable: cannot write \(path) (\(describe(code)))")
        }
        return DataDirectoryLock(path: path, descriptor: descriptor)
    }

    /// Whether the directory is still claimed (not yet released).
    var isHeld: Bool {
        descriptor.withLock { $0 >= 0 }
    }

    /// Gives the directory up. Idempotent.
    public func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            close(descriptor)
            descriptor = -1
        }
    }

    /// The pid the holder wrote into the lock file, if it has written it yet.
    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { bytes in pread(descriptor, bytes.baseAddress, bytes.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return Int32(text.split(whereSeparator: \.isNewline).first ?? "")
    }

    /// `mkdir -p`, with errors that name the data directory.
    private static func makeDirectory(_ path: String, dataDirectory: String) throws(StoreError) {
        if mkdir(path, 0o700) == 0 { return }
        let code = errno
        switch code {
        case EEXIST:
            // Opening it as a directory says whether it is one (no `struct stat`, whose
            // owning module differs between builds once Foundation is in the graph).
            let descriptor = open(path, O_RDONLY | O_DIRECTORY)
            guard descriptor >= 0 else {
                throw .unavailable("cannot create data directory \(dataDirectory): \(path) exists and is not a directory")
            }
            close(descriptor)
        case ENOENT:
            let parent = parentDirectory(of: path)
            guard !parent.isEmpty, parent != path else {
                throw .unavailable("cannot create data directory \(dataDirectory): \(describe(code))")
            }
            try makeDirectory(parent, dataDirectory: dataDirectory)
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw .unavailable("cannot create data directory \(dataDirectory): \(describe(errno))")
            }
        case EACCES, EPERM, EROFS:
            throw .unavailable("cannot create data directory \(dataDirectory): \(parentDirectory(of: path)) is not writable (\(describe(code)))")
        default:
            throw .unavailable("cannot create data directory \(dataDirectory): \(describe(code))")
        }
    }

    private static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
