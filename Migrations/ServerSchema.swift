import GRDB

/// The server's SQLite schema: sessions and their parts.
///
/// Each migration lives in its own file under `Server/` and is never edited once shipped; a
/// change is a new migration appended here.
public enum ServerSchema {
  /// A migrator holding every server migration, in order.
  public static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration(V1CreateSessionsAndParts.identifier) { db in
      try db.execute(sql: V1CreateSessionsAndParts.sql)
    }
    migrator.registerMigration(V2IndexSessionsByOwner.identifier) { db in
      try db.execute(sql: V2IndexSessionsByOwner.sql)
    }
    migrator.registerMigration(V3UnknownSizeAndPartGenerations.identifier) { db in
      try db.execute(sql: V3UnknownSizeAndPartGenerations.sql)
    }
    migrator.registerMigration(V4NodesAndPartHolders.identifier) { db in
      try db.execute(sql: V4NodesAndPartHolders.sql)
    }
    migrator.registerMigration(V5VerifiedDigests.identifier) { db in
      try db.execute(sql: V5VerifiedDigests.sql)
    }
    migrator.registerMigration(V6NotificationOutbox.identifier) { db in
      try db.execute(sql: V6NotificationOutbox.sql)
    }
    migrator.registerMigration(V7SessionOrigin.identifier) { db in
      try db.execute(sql: V7SessionOrigin.sql)
    }
    return migrator
  }
}
