/// Sessions, one per object being uploaded, and their parts.
///
/// Times are milliseconds since the Unix epoch. Digests are lowercase hex.
enum V1CreateSessionsAndParts {
  static let identifier = "v1-create-sessions-and-parts"

  static let sql = """
    CREATE TABLE sessions (
      id TEXT PRIMARY KEY NOT NULL,
      owner TEXT NOT NULL DEFAULT '',
      idempotency_key TEXT,
      object_key TEXT NOT NULL,
      size INTEGER NOT NULL,
      part_size INTEGER NOT NULL,
      part_count INTEGER NOT NULL,
      content_type TEXT NOT NULL DEFAULT '',
      metadata TEXT NOT NULL DEFAULT '{}',
      storage_upload_id TEXT,
      state TEXT NOT NULL,
      sha256 TEXT,
      etag TEXT,
      location TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      error TEXT
    );
    CREATE UNIQUE INDEX sessions_by_idempotency_key ON sessions(owner, idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    CREATE INDEX sessions_by_state_and_expiry ON sessions(state, expires_at);
    CREATE INDEX sessions_by_creation ON sessions(created_at, id);

    CREATE TABLE parts (
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      size INTEGER NOT NULL,
      received_bytes INTEGER NOT NULL DEFAULT 0,
      expected_sha256 TEXT,
      sha256 TEXT,
      etag TEXT,
      state TEXT NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (session_id, number)
    ) WITHOUT ROWID;
    """
}
