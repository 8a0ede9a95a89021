import GRDB

extension SQLiteStore {
    /// Marks a SQLite file as a Heddle store (`PRAGMA application_id`, "HDLE"), so that another
    /// program's database in the data directory is refused instead of written into.
    static let applicationID: Int32 = 0x4844_4C45

    /// The schema, one versioned migration after another. A migration, once released, never
    /// changes: a new schema is a new migration appended here. A database that has a migration
    /// this list does not know was written by a newer Heddle and is refused.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(sql: """
                -- One row: the store's revision counter (the revision of the latest write) and
                -- the revision up to which the change log has been compacted away.
                CREATE TABLE meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    revision INTEGER NOT NULL,
                    compacted_revision INTEGER NOT NULL
                );
                INSERT INTO meta (id, revision, compacted_revision) VALUES (1, 0, 0);

                CREATE TABLE resources (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    document TEXT NOT NULL,
                    create_revision INTEGER NOT NULL,
                    revision INTEGER NOT NULL,
                    PRIMARY KEY (kind, name)
                ) WITHOUT ROWID;

                CREATE TABLE instances (
                    id TEXT PRIMARY KEY NOT NULL,
                    service TEXT NOT NULL,
                    address TEXT NOT NULL,
                    port INTEGER NOT NULL,
                    protocol TEXT NOT NULL,
                    labels TEXT NOT NULL,        -- a JSON object of strings
                    weight INTEGER NOT NULL,
                    health TEXT NOT NULL,
                    revision INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX instances_by_service ON instances (service, id);

                -- The change log: one row per write. A put holds the whole record as written,
                -- a deletion only its key.
                CREATE TABLE changes (
                    revision INTEGER PRIMARY KEY,
                    kind_of_change TEXT NOT NULL CHECK (kind_of_change IN
                        ('resource_put', 'resource_deleted', 'instance_put', 'instance_deleted')),
                    resource_kind TEXT,
                    resource_name TEXT,
                    document TEXT,
                    create_revision INTEGER,
                    instance_id TEXT,
                    service TEXT,
                    address TEXT,
                    port INTEGER,
                    protocol TEXT,
                    labels TEXT,
                    weight INTEGER,
                    health TEXT,
                    CHECK (kind_of_change NOT IN ('resource_put', 'resource_deleted')
                        OR (resource_kind IS NOT NULL AND resource_name IS NOT NULL)),
                    CHECK (kind_of_change <> 'resource_put'
                        OR (document IS NOT NULL AND create_revision IS NOT NULL)),
                    CHECK (kind_of_change NOT IN ('instance_put', 'instance_deleted') OR instance_id IS NOT NULL),
                    CHECK (kind_of_change <> 'instance_put' OR (service IS NOT NULL AND address IS NOT NULL
                        AND port IS NOT NULL AND protocol IS NOT NULL AND labels IS NOT NULL
                        AND weight IS NOT NULL AND health IS NOT NULL))
                );
                """)
        }
        migrator.registerMigration("v2: instances reached over mutual TLS") { db in
            try db.execute(sql: """
                ALTER TABLE instances ADD COLUMN mutual_tls INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE changes ADD COLUMN mutual_tls INTEGER;
                """)
        }
        migrator.registerMigration("v3: where each instance's proxy serves its metrics") { db in
            try db.execute(sql: """
                ALTER TABLE instances ADD COLUMN admin_address TEXT;
                ALTER TABLE changes ADD COLUMN admin_address TEXT;
                """)
        }
        return migrator
    }()
}
