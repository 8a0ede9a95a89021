#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
@testable import HeddleControlPlane
import Testing

/// What only the SQLite store does: survive a restart and a crash, and refuse a data directory
/// it cannot or must not use, saying why.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("The directory and its parents are created, with heddle.db and heddle.lock in it")
    func createsDirectory() async throws {
        try await withTemporaryDirectory { root in
            let directory = root + "/a/b/data"
            let store = try SQLiteStore(directory: directory)
            defer { try? store.close() }
            #expect(store.databasePath == directory + "/heddle.db")
            #expect(FileManager.default.fileExists(atPath: directory + "/heddle.db"))
            #expect(FileManager.default.fileExists(atPath: directory + "/heddle.lock"))
            #expect(try String(contentsOfFile: directory + "/heddle.lock", encoding: .utf8) == "\(getpid())\n")
        }
    }

    @Test("Reopened, the store holds everything and its revision and compaction go on")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            let first = try SQLiteStore(directory: directory, retainedChanges: 4)
            for index in 1...5 {
                _ = try await first.putResource(kind: "Service", name: "s\(index)", document: "doc \(index)", expectedRevision: 0)
            }
            _ = try await first.putInstance(instance("web-1", service: "web", labels: ["zone": "a"]))
            _ = try await first.deleteResource(kind: "Service", name: "s2", expectedRevision: nil)
            let resources = try await first.resources(kind: nil)
            let instances = try await first.instances(service: nil)
            let changes = try await first.changes(after: 3, limit: 100)
            #expect(changes.map(\.revision) == [4, 5, 6, 7])
            try first.close()

            let second = try SQLiteStore(directory: directory, retainedChanges: 4)
            defer { try? second.close() }
            #expect(try await second.currentRevision() == 7)
            #expect(try await second.resources(kind: nil) == resources)
            #expect(try await second.instances(service: nil) == instances)
            #expect(try await second.changes(after: 3, limit: 100) == changes)
            await #expect(throws: StoreError.compacted(requested: 2, oldest: 4)) {
                try await second.changes(after: 2, limit: 100)
            }
            let next = try await second.putResource(kind: "Service", name: "s1", document: "again", expectedRevision: 1)
            #expect(next == StoredResource(kind: "Service", name: "s1", document: "again", createRevision: 1, revision: 8))
            #expect(try await second.changes(after: 4, limit: 100).map(\.revision) == [5, 6, 7, 8])
        }
    }

    @Test("A store dropped without close gives the directory up")
    func deinitReleasesDirectory() async throws {
        try await withTemporaryDirectory { directory in
            try await writeAndDrop(directory: directory)
            let store = try SQLiteStore(directory: directory)
            defer { try? store.close() }
            #expect(try await store.resource(kind: "Service", name: "web")?.revision == 1)
        }
    }

    private func writeAndDrop(directory: String) async throws {
        let store = try SQLiteStore(directory: directory)
        _ = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
    }

    @Test("After close, operations fail with unavailable instead of crashing")
    func closed() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            try store.close()
            try store.close()
            let error = await #expect(throws: StoreError.self) {
                try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            }
            #expect(error == .unavailable("the store at \(directory)/heddle.db is closed"))
            await #expect(throws: StoreError.self) { try await store.currentRevision() }
        }
    }

    // MARK: - Refusals

    @Test("A file that is not a database is refused, and left as it was")
    func garbageFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/heddle.db"
            let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
            try garbage.write(to: URL(fileURLWithPath: path))
            for _ in 0..<2 {
                let error = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
                #expect(error == .unavailable(
                    "\(path) is not a Heddle store (file is not a database); move it away or choose another data directory"))
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        }
    }

    @Test("Another program's SQLite database is refused, and left as it was")
    func foreignDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/heddle.db"
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in try db.execute(sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)") }
            try queue.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let error = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
            #expect(error == .unavailable(
                "\(path) is not a Heddle store (it holds other tables: users); move it away or choose another data directory"))
            // Not even switched to WAL mode.
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))

            // Another program's mark, even on an empty database.
            try FileManager.default.removeItem(atPath: path)
            let marked = try DatabaseQueue(path: path)
            try marked.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA application_id = 42") }
            try marked.close()
            let markedError = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
            #expect(markedError == .unavailable(
                "\(path) is not a Heddle store (its application id is 42); move it away or choose another data directory"))
        }
    }

    @Test("A second store on the same directory is refused, naming the holder; after close it opens")
    func secondControlPlane() async throws {
        try await withTemporaryDirectory { directory in
            let first = try SQLiteStore(directory: directory)
            _ = try await first.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            let error = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
            #expect(error == .unavailable(
                "data directory \(directory) is in use by another control plane (pid \(getpid())); stop it or choose another data directory"))
            // The refused store did not disturb the one in use.
            #expect(try await first.putResource(kind: "Service", name: "web", document: "b", expectedRevision: 1).revision == 2)
            try first.close()

            let second = try SQLiteStore(directory: directory)
            defer { try? second.close() }
            #expect(try await second.resource(kind: "Service", name: "web")?.document == "b")
        }
    }

    @Test("A database another process keeps locked is refused after the busy timeout, naming the file")
    func lockedDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/heddle.db"
            try SQLiteStore(directory: directory).close()

            // Another program (not a control plane: it knows nothing of heddle.lock) holds
            // SQLite's write lock.
            var holdsTransactions = Configuration()
            holdsTransactions.allowsUnsafeTransactions = true
            let other = try DatabaseQueue(path: path, configuration: holdsTransactions)
            try other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            let error = #expect(throws: StoreError.self) {
                try SQLiteStore(directory: directory, busyTimeout: .milliseconds(100))
            }
            #expect(error?.description.hasPrefix("\(path) is locked by another process") == true)

            try other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            try other.close()
            try SQLiteStore(directory: directory).close()
        }
    }

    @Test("A database written by a newer Heddle is refused, naming the unknown migrations")
    func newerSchema() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/heddle.db"
            try SQLiteStore(directory: directory).close()
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-sharding')")
            }
            try queue.close()
            let error = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
            #expect(error == .unavailable(
                "\(path) was written by a newer Heddle (schema migrations unknown to this binary: v99-sharding); run a newer Heddle"))
        }
    }

    @Test("A data directory that cannot be created is refused, saying why")
    func uncreatableDirectory() async throws {
        try await withTemporaryDirectory { root in
            let file = root + "/plain-file"
            try Data("x".utf8).write(to: URL(fileURLWithPath: file))

            let underFile = #expect(throws: StoreError.self) { try SQLiteStore(directory: file + "/data") }
            #expect(underFile == .unavailable("cannot create data directory \(file)/data: Not a directory"))

            let isFile = #expect(throws: StoreError.self) { try SQLiteStore(directory: file) }
            #expect(isFile == .unavailable("cannot create data directory \(file): \(file) exists and is not a directory"))
        }
    }

    /// Root writes anywhere, so this one runs only as another user.
    @Test("A data directory that is not writable is refused", .enabled(if: geteuid() != 0))
    func unwritableDirectory() async throws {
        try await withTemporaryDirectory { root in
            let directory = root + "/read-only"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o500])
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory) }
            let error = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory) }
            #expect(error == .unavailable("data directory \(directory) is not writable (Permission denied)"))

            let below = #expect(throws: StoreError.self) { try SQLiteStore(directory: directory + "/data") }
            #expect(below == .unavailable("cannot create data directory \(directory)/data: \(directory) is not writable (Permission denied)"))
        }
    }

    // MARK: - Durability

    /// What `kill -9` leaves behind is exactly what the process had handed to the kernel:
    /// the database file and its WAL as they are in the page cache, with no close, no
    /// checkpoint, and a shared-memory index that the next opener rebuilds. Copying those
    /// two files while the first store is still open (idle, every write acknowledged) makes
    /// that crash image without killing the test process; opening the copy runs SQLite's
    /// recovery from the WAL, as a restart after a crash would. With `synchronous = FULL` the
    /// WAL is also fsynced at each commit, so the same holds after a power cut; that part
    /// cannot be tested without one.
    @Test("Every acknowledged write is in the files a crash would leave, and visible to another connection")
    func acknowledgedWritesSurviveACrash() async throws {
        try await withTemporaryDirectory { root in
            let directory = root + "/live"
            let store = try SQLiteStore(directory: directory)
            defer { try? store.close() }
            var written: [StoreChange] = []
            for index in 0..<50 {
                let resource = try await store.putResource(kind: "Service", name: "s\(index % 10)", document: "\(index)", expectedRevision: nil)
                written.append(.resourcePut(resource))
                let stored = try await store.putInstance(instance("i\(index % 7)", service: "s", labels: ["n": "\(index)"]))
                written.append(.instancePut(stored))
                if index % 5 == 4 {
                    let revision = try await store.deleteResource(kind: "Service", name: "s\(index % 10)", expectedRevision: nil)
                    written.append(.resourceDeleted(kind: "Service", name: "s\(index % 10)", revision: revision))
                }
            }
            let resources = try await store.resources(kind: nil)
            let instances = try await store.instances(service: nil)

            // Another connection (another process would do the same) sees every write.
            var readOnly = Configuration()
            readOnly.readonly = true
            let reader = try DatabaseQueue(path: directory + "/heddle.db", configuration: readOnly)
            let (revision, resourceCount, instanceCount, changeCount) = try await reader.read { db in
                (
                    try Int64.fetchOne(db, sql: "SELECT revision FROM meta") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resources") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM instances") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM changes") ?? -1
                )
            }
            try reader.close()
            #expect(revision == Int64(written.count))
            #expect(resourceCount == resources.count)
            #expect(instanceCount == instances.count)
            #expect(changeCount == written.count)

            // The crash image: the writes are still in the WAL, not yet checkpointed.
            let crashed = root + "/crashed"
            try FileManager.default.createDirectory(atPath: crashed, withIntermediateDirectories: false)
            let wal = try #require(try FileManager.default.attributesOfItem(atPath: directory + "/heddle.db-wal")[.size] as? Int)
            #expect(wal > 0)
            for file in ["heddle.db", "heddle.db-wal"] {
                try FileManager.default.copyItem(atPath: directory + "/" + file, toPath: crashed + "/" + file)
            }
            let recovered = try SQLiteStore(directory: crashed)
            defer { try? recovered.close() }
            #expect(try await recovered.currentRevision() == Int64(written.count))
            #expect(try await recovered.resources(kind: nil) == resources)
            #expect(try await recovered.instances(service: nil) == instances)
            #expect(try await recovered.changes(after: 0, limit: 1000) == written)
        }
    }

    @Test("The database is a Heddle store in WAL mode, and the store's writes are synchronous = FULL")
    func durabilitySettings() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            defer { try? store.close() }
            // 2 is FULL; the setting belongs to a connection, so ask the store's writer.
            #expect(try await store.writerPragma("synchronous") == "2")
            #expect(try await store.writerPragma("journal_mode") == "wal")

            let queue = try DatabaseQueue(path: directory + "/heddle.db")
            defer { try? queue.close() }
            #expect(try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
            #expect(try await queue.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") } == 0x4844_4C45)
        }
    }
}
