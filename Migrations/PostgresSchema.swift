/// The server's PostgreSQL schema, for replicas sharing one database.
///
/// Each migration lives in its own file under `Postgres/` and is never edited once shipped; a
/// change is a new migration appended here. `PostgresSessionStore` applies them at start, in
/// one transaction that locks the `schema_migrations` table, so replicas starting together
/// migrate once.
public enum PostgresSchema {
  /// The migrations in order: an identifier and its statements.
  public static let migrations: [(identifier: String, statements: [String])] = [
    (P1CreateSessionsPartsAndNodes.identifier, P1CreateSessionsPartsAndNodes.sql),
    (P2VerifiedDigests.identifier, P2VerifiedDigests.sql),
    (P3NotificationOutbox.identifier, P3NotificationOutbox.sql),
    (P4SessionOrigin.identifier, P4SessionOrigin.sql),
  ]
}
