import Foundation
import GRDB

/// The control plane's store on one node: one SQLite database, `<directory>/heddle.db`, in
/// WAL mode, written by one control plane at a time.
///
/// **Durability.** Every write is one transaction that bumps the store revision, writes the
/// row and appends the change; the call returns only after SQLite has committed it. The
/// database runs in WAL mode with `synchronous = FULL`: a commit appends the transaction's
/// pages and a commit frame to `heddle.db-wal` and fsyncs that file before it returns. What
/// `kill -9` needs is weaker: once `write(2)` has returned, the bytes are in the kernel's page
/// cache and outlive the process, and on the next open SQLite replays every WAL frame up to
/// the last commit frame, ignoring a torn tail, so an acknowledged write is never lost and a
/// half-done one never appears. `synchronous = NORMAL` would give that much; `FULL` adds the
/// fsync per commit so that an acknowledged write also survives an OS crash or a power cut,
/// which is what "acknowledged" should mean for a control plane's state. The cost, one fsync
/// per write, is fine at control-plane write rates. Readers run on their own connections and
/// never block the writer (WAL snapshot isolation).
///
/// **One control plane per data directory.** Opening takes an exclusive `flock` on
/// `<directory>/heddle.lock` (without waiting) and holds it until `close()` or deinit; a
/// second store on the same directory, in this process or another, is refused with
/// `StoreError.unavailable("data directory … is in use by another control plane (pid N) …")`.
/// The kernel drops the lock when the process dies, so a crash leaves nothing stale behind.
///
/// **Compaction.** The change log keeps the last `retainedChanges` changes (10 000 by
/// default): the write that makes revision `r` removes the change at `r - retainedChanges`
/// in the same transaction. `changes(after:)` works for any revision from
/// `currentRevision() - retainedChanges` on, so `after: currentRevision()` always works, and
/// throws `StoreError.compacted` for anything older.
///
/// **Opening errors** are `StoreError.unavailable` with the path in the message, never a
/// crash: a directory that cannot be created or written, a file that is not a SQLite
/// database or is another program's database, a database written by a newer Heddle (a
/// schema migration this binary does not know), a database locked by another process.
public final class SQLiteStore: Store {
    /// The database's file name inside the data directory.
    public static let databaseFileName = "heddle.db"
    /// How many changes the log keeps unless told otherwise.
    public static let defaultRetainedChanges = 10_000

    /// The data directory.
    public let directory: String
    /// `<directory>/heddle.db`.
    public let databasePath: String
    /// How many of the latest changes `changes(after:limit:)` can return.
    public let retainedChanges: Int

    private let pool: DatabasePool
    private let directoryLock: DataDirectoryLock

    /// Opens the store in `directory`, creating the directory and the database when missing
    /// and migrating an older schema to this binary's.
    ///
    /// - Parameters:
    ///   - retainedChanges: how many of the latest changes the log keeps; at least 1.
    ///   - busyTimeout: how long to wait for a SQLite lock held by another process (a backup
    ///     tool, the `sqlite3` shell) before failing with `unavailable`.
    /// - Throws: `StoreError.unavailable` saying what is wrong with the directory or file.
    public init(directory: String, retainedChanges: Int = SQLiteStore.defaultRetainedChanges, busyTimeout: Duration = .seconds(5)) throws(StoreError) {
        precondition(retainedChanges >= 1, "the change log must keep at least the latest change")
        let databasePath = directory.hasSuffix("/") ? directory + Self.databaseFileName : directory + "/" + Self.databaseFileName
        let directoryLock = try DataDirectoryLock.acquire(directory: directory)

        var configuration = Configuration()
        configuration.label = "heddle.store"
        configuration.busyMode = .timeout(busyTimeout / .seconds(1))
        let pool: DatabasePool
        do {
            try Self.checkIsHeddleStore(path: databasePath, configuration: configuration)
            pool = try DatabasePool(path: databasePath, configuration: configuration)
            try pool.barrierWriteWithoutTransaction { db in
                // WAL + FULL: every acknowledged commit is fsynced to the WAL (see the type's
                // documentation). The pool has just put its one writer connection in WAL mode
                // with `synchronous = NORMAL`, GRDB's choice; this overrides it. Readers never
                // commit, so their setting does not matter.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // An immediate transaction takes the write lock now, so a database locked by
                // another process is reported here rather than at the first write.
                try db.inTransaction(.immediate) { .commit }
            }
            try Self.migrator.migrate(pool)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw Self.unavailable(error, path: databasePath)
        } catch {
            throw .unavailable("cannot open \(databasePath): \(error)")
        }
        self.directory = directory
        self.databasePath = databasePath
        self.retainedChanges = retainedChanges
        self.pool = pool
        self.directoryLock = directoryLock
    }

    deinit {
        try? pool.close()
        directoryLock.release()
    }

    /// Closes the database and gives the data directory up for another control plane.
    /// Operations afterwards throw `unavailable`. Idempotent.
    public func close() throws(StoreError) {
        defer { directoryLock.release() }
        do {
            try pool.close()
        } catch let error as DatabaseError {
            throw Self.unavailable(error, path: databasePath)
        } catch {
            throw .unavailable("cannot close \(databasePath): \(error)")
        }
    }

    // MARK: - Store

    /// The revision of the latest committed write (0 for an empty store).
    public func currentRevision() async throws -> Int64 {
        try await read { db in try self.meta(db).revision }
    }

    /// Creates or replaces `kind`/`name` under the `Store` compare-and-swap rules, in one
    /// transaction with its change; durable when it returns.
    public func putResource(kind: String, name: String, document: String, expectedRevision: Int64?) async throws -> StoredResource {
        try await write { db in
            let existing = try Row.fetchOne(
                db, sql: "SELECT create_revision, revision FROM resources WHERE kind = ? AND name = ?", arguments: [kind, name])
            let current: Int64 = try existing?.decode(forColumn: "revision") ?? 0
            if let expectedRevision, expectedRevision != current {
                throw StoreError.conflict(resource: "\(kind)/\(name)", expected: expectedRevision, current: current)
            }
            let revision = try self.nextRevision(db)
            let createRevision: Int64 = try existing?.decode(forColumn: "create_revision") ?? revision
            try db.execute(
                sql: """
                    INSERT INTO resources (kind, name, document, create_revision, revision) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, name) DO UPDATE SET document = excluded.document, revision = excluded.revision
                    """,
                arguments: [kind, name, document, createRevision, revision])
            try db.execute(
                sql: """
                    INSERT INTO changes (revision, kind_of_change, resource_kind, resource_name, document, create_revision)
                    VALUES (?, 'resource_put', ?, ?, ?, ?)
                    """,
                arguments: [revision, kind, name, document, createRevision])
            return StoredResource(kind: kind, name: name, document: document, createRevision: createRevision, revision: revision)
        }
    }

    /// Deletes `kind`/`name` under the `Store` compare-and-swap rules, in one transaction with
    /// its change; durable when it returns.
    public func deleteResource(kind: String, name: String, expectedRevision: Int64?) async throws -> Int64 {
        try await write { db in
            guard let current = try Int64.fetchOne(
                db, sql: "SELECT revision FROM resources WHERE kind = ? AND name = ?", arguments: [kind, name])
            else {
                throw StoreError.notFound(resource: "\(kind)/\(name)")
            }
            if let expectedRevision, expectedRevision != current {
                throw StoreError.conflict(resource: "\(kind)/\(name)", expected: expectedRevision, current: current)
            }
            let revision = try self.nextRevision(db)
            try db.execute(sql: "DELETE FROM resources WHERE kind = ? AND name = ?", arguments: [kind, name])
            try db.execute(
                sql: "INSERT INTO changes (revision, kind_of_change, resource_kind, resource_name) VALUES (?, 'resource_deleted', ?, ?)",
                arguments: [revision, kind, name])
            return revision
        }
    }

    /// The resource `kind`/`name` as of the latest commit, or nil.
    public func resource(kind: String, name: String) async throws -> StoredResource? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM resources WHERE kind = ? AND name = ?", arguments: [kind, name])
                .map(self.resource(from:))
        }
    }

    /// Every resource, or those of `kind`, ordered by kind then name (UTF-8 byte order), from
    /// one consistent snapshot.
    public func resources(kind: String?) async throws -> [StoredResource] {
        try await read { db in
            let rows = if let kind {
                try Row.fetchAll(db, sql: "SELECT * FROM resources WHERE kind = ? ORDER BY name", arguments: [kind])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM resources ORDER BY kind, name")
            }
            return try rows.map(self.resource(from:))
        }
    }

    /// Creates or replaces the instance `instance.id` (unconditionally), in one transaction
    /// with its change; durable when it returns.
    public func putInstance(_ instance: StoredInstance) async throws -> StoredInstance {
        let labels = try Self.encodeLabels(instance.labels)
        return try await write { db in
            var stored = instance
            stored.revision = try self.nextRevision(db)
            let arguments: StatementArguments = [
                stored.revision, stored.id, stored.service, stored.address, stored.port, stored.protocol, labels,
                stored.weight, stored.health, stored.mutualTLS, stored.adminAddress,
            ]
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO instances (revision, id, service, address, port, protocol, labels, weight, health, mutual_tls, admin_address)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: arguments)
            try db.execute(
                sql: """
                    INSERT INTO changes (revision, instance_id, service, address, port, protocol, labels, weight, health, mutual_tls, admin_address, kind_of_change)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'instance_put')
                    """,
                arguments: arguments)
            return stored
        }
    }

    /// Removes the instance, in one transaction with its change; durable when it returns. No
    /// write and no revision when there was none.
    public func deleteInstance(id: String) async throws -> Int64? {
        try await write { db in
            guard try Int64.fetchOne(db, sql: "SELECT revision FROM instances WHERE id = ?", arguments: [id]) != nil else {
                return nil
            }
            let revision = try self.nextRevision(db)
            try db.execute(sql: "DELETE FROM instances WHERE id = ?", arguments: [id])
            try db.execute(
                sql: "INSERT INTO changes (revision, kind_of_change, instance_id) VALUES (?, 'instance_deleted', ?)",
                arguments: [revision, id])
            return revision
        }
    }

    /// Every instance, or those of `service`, ordered by service then id (UTF-8 byte order),
    /// from one consistent snapshot.
    public func instances(service: String?) async throws -> [StoredInstance] {
        try await read { db in
            let rows = if let service {
                try Row.fetchAll(db, sql: "SELECT * FROM instances WHERE service = ? ORDER BY id", arguments: [service])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM instances ORDER BY service, id")
            }
            return try rows.map { row in try self.instance(from: row, idColumn: "id") }
        }
    }

    /// The changes after `revision`, oldest first, at most `limit` (none when `limit` is not
    /// positive). Works for any `revision` from `currentRevision() - retainedChanges` on
    /// (including revisions not written yet, which give no changes); throws
    /// `StoreError.compacted` for older ones.
    public func changes(after revision: Int64, limit: Int) async throws -> [StoreChange] {
        try await read { db in
            let compacted = try self.meta(db).compactedRevision
            guard revision >= compacted else {
                throw StoreError.compacted(requested: revision, oldest: compacted + 1)
            }
            guard limit > 0 else { return [] }
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM changes WHERE revision > ? ORDER BY revision LIMIT ?", arguments: [revision, limit])
            return try rows.map(self.change(from:))
        }
    }

    /// The value of `PRAGMA name` on the writer connection, for tests of the durability
    /// settings (they are per connection, so no other connection can see them).
    func writerPragma(_ name: String) async throws -> String? {
        try await pool.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    // MARK: - Transactions

    private func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(updates)
        } catch {
            throw Self.storeError(error, path: databasePath, closed: !directoryLock.isHeld)
        }
    }

    private func read<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(value)
        } catch {
            throw Self.storeError(error, path: databasePath, closed: !directoryLock.isHeld)
        }
    }

    /// Takes the next revision for the write in progress and compacts the change log to the
    /// `retainedChanges` latest changes, counting the one about to be appended.
    private func nextRevision(_ db: Database) throws -> Int64 {
        let meta = try self.meta(db)
        let revision = meta.revision + 1
        let compacted = max(meta.compactedRevision, revision - Int64(retainedChanges))
        if compacted > meta.compactedRevision {
            try db.execute(sql: "DELETE FROM changes WHERE revision <= ?", arguments: [compacted])
        }
        try db.execute(
            sql: "UPDATE meta SET revision = ?, compacted_revision = ? WHERE id = 1", arguments: [revision, compacted])
        return revision
    }

    // MARK: - Rows

    private func meta(_ db: Database) throws -> (revision: Int64, compactedRevision: Int64) {
        guard let row = try Row.fetchOne(db, sql: "SELECT revision, compacted_revision FROM meta WHERE id = 1") else {
            throw StoreError.unavailable("\(databasePath) is damaged: the store's revision counter is missing")
        }
        return (try row.decode(forColumn: "revision"), try row.decode(forColumn: "compacted_revision"))
    }

    private func resource(from row: Row) throws -> StoredResource {
        StoredResource(
            kind: try row.decode(forColumn: "kind"),
            name: try row.decode(forColumn: "name"),
            document: try row.decode(forColumn: "document"),
            createRevision: try row.decode(forColumn: "create_revision"),
            revision: try row.decode(forColumn: "revision"))
    }

    private func instance(from row: Row, idColumn: String) throws -> StoredInstance {
        StoredInstance(
            id: try row.decode(forColumn: idColumn),
            service: try row.decode(forColumn: "service"),
            address: try row.decode(forColumn: "address"),
            port: try row.decode(forColumn: "port"),
            protocol: try row.decode(forColumn: "protocol"),
            labels: try decodeLabels(try row.decode(forColumn: "labels")),
            weight: try row.decode(forColumn: "weight"),
            health: try row.decode(forColumn: "health"),
            revision: try row.decode(forColumn: "revision"),
            mutualTLS: (try row.decode(Int?.self, forColumn: "mutual_tls") ?? 0) != 0,
            adminAddress: try row.decode(String?.self, forColumn: "admin_address"))
    }

    private func change(from row: Row) throws -> StoreChange {
        let revision: Int64 = try row.decode(forColumn: "revision")
        let kindOfChange: String = try row.decode(forColumn: "kind_of_change")
        switch kindOfChange {
        case "resource_put":
            return .resourcePut(StoredResource(
                kind: try row.decode(forColumn: "resource_kind"),
                name: try row.decode(forColumn: "resource_name"),
                document: try row.decode(forColumn: "document"),
                createRevision: try row.decode(forColumn: "create_revision"),
                revision: revision))
        case "resource_deleted":
            return .resourceDeleted(
                kind: try row.decode(forColumn: "resource_kind"), name: try row.decode(forColumn: "resource_name"), revision: revision)
        case "instance_put":
            return .instancePut(try instance(from: row, idColumn: "instance_id"))
        case "instance_deleted":
            return .instanceDeleted(id: try row.decode(forColumn: "instance_id"), revision: revision)
        default:
            throw StoreError.unavailable("\(databasePath) is damaged: the change at revision \(revision) is of an unknown kind (\(kindOfChange))")
        }
    }

    private static func encodeLabels(_ labels: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(labels), as: UTF8.self)
    }

    private func decodeLabels(_ text: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.unavailable("\(databasePath) is damaged: instance labels are not a JSON object of strings (\(text))")
        }
    }

    // MARK: - Opening and errors

    /// Refuses a database that some other program made (a Heddle store carries Heddle's
    /// application id, and a fresh file has no tables yet) or that a newer Heddle migrated.
    /// Looks through a plain connection that writes nothing, before the pool switches the file
    /// to WAL mode: a database that is refused is left exactly as it was.
    private static func checkIsHeddleStore(path: String, configuration: Configuration) throws {
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.inDatabase { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            if applicationID != Self.applicationID {
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                guard applicationID == 0, tables.isEmpty else {
                    let what = applicationID != 0
                        ? "its application id is \(applicationID)"
                        : "it holds other tables: \(tables.joined(separator: ", "))"
                    throw StoreError.unavailable(
                        "\(path) is not a Heddle store (\(what)); move it away or choose another data directory")
                }
            }
            if try migrator.hasBeenSuperseded(db) {
                let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
                throw StoreError.unavailable(
                    "\(path) was written by a newer Heddle (schema migrations unknown to this binary: \(unknown.joined(separator: ", "))); run a newer Heddle")
            }
        }
    }

    /// The error to throw for an error out of a read or write: GRDB's errors become
    /// `unavailable` naming the file; the store's own errors and cancellation pass through.
    private static func storeError(_ error: any Error, path: String, closed: Bool) -> any Error {
        if error is RowDecodingError {
            return StoreError.unavailable("\(path) is damaged: \(error)")
        }
        guard let error = error as? DatabaseError else { return error }
        if closed {
            return StoreError.unavailable("the store at \(path) is closed")
        }
        return unavailable(error, path: path)
    }

    /// A SQLite error in words an operator can act on, naming the file.
    private static func unavailable(_ error: DatabaseError, path: String) -> StoreError {
        let message = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_NOTADB:
            return .unavailable(
                "\(path) is not a Heddle store (file is not a database); move it away or choose another data directory")
        case .SQLITE_CORRUPT:
            return .unavailable("\(path) is damaged (\(message)); restore it from a backup")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .unavailable(
                "\(path) is locked by another process (\(message)); stop whatever holds it (a sqlite3 shell, a backup tool)")
        case .SQLITE_READONLY, .SQLITE_PERM:
            return .unavailable("\(path) is not writable (\(message))")
        case .SQLITE_CANTOPEN:
            return .unavailable("cannot open \(path) (\(message))")
        case .SQLITE_FULL:
            return .unavailable("the disk holding \(path) is full (\(message))")
        case .SQLITE_IOERR:
            return .unavailable("I/O error on \(path) (\(message))")
        default:
            return .unavailable("\(path): \(message)")
        }
    }
}
