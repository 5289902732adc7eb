import GRDB

/// The CLI journal's SQLite schema: the uploads this machine started and their parts.
///
/// Each migration lives in its own file under `Client/` and is never edited once shipped.
public enum JournalSchema {
  /// A migrator holding every journal migration, in order.
  public static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration(V1CreateJournal.identifier) { db in
      try db.execute(sql: V1CreateJournal.sql)
    }
    migrator.registerMigration(V2ObjectAttributes.identifier) { db in
      try db.execute(sql: V2ObjectAttributes.sql)
    }
    migrator.registerMigration(V3Batches.identifier) { db in
      try db.execute(sql: V3Batches.sql)
    }
    migrator.registerMigration(V4SendingChoices.identifier) { db in
      try db.execute(sql: V4SendingChoices.sql)
    }
    return migrator
  }
}
