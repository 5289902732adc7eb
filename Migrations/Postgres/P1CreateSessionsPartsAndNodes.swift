/// The PostgreSQL schema as of SQLite's `V4NodesAndPartHolders`: sessions, parts (with their
/// writer's generation and the node holding their spool) and node heartbeats. The columns mean
/// what they mean in the SQLite migrations `V1` to `V4`.
///
/// Times are milliseconds since the Unix epoch. Digests are lowercase hex.
enum P1CreateSessionsPartsAndNodes {
  static let identifier = "p1-create-sessions-parts-and-nodes"

  static let sql = [
    """
    CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL DEFAULT '',
      idempotency_key TEXT,
      object_key TEXT NOT NULL,
      size BIGINT NOT NULL,
      part_size BIGINT NOT NULL,
      part_count INTEGER NOT NULL,
      content_type TEXT NOT NULL DEFAULT '',
      metadata TEXT NOT NULL DEFAULT '{}',
      storage_upload_id TEXT,
      state TEXT NOT NULL,
      sha256 TEXT,
      etag TEXT,
      location TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      size_known BOOLEAN NOT NULL DEFAULT TRUE,
      parts_per_tier INTEGER,
      abort_pending BOOLEAN NOT NULL DEFAULT FALSE,
      abort_lease_until BIGINT NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE UNIQUE INDEX sessions_by_idempotency_key ON sessions(owner, idempotency_key)
      WHERE idempotency_key IS NOT NULL
    """,
    "CREATE INDEX sessions_by_state_and_expiry ON sessions(state, expires_at)",
    "CREATE INDEX sessions_by_owner ON sessions(owner, created_at DESC, id DESC)",
    "CREATE INDEX sessions_by_owner_and_state ON sessions(owner, state)",
    "CREATE INDEX sessions_with_pending_aborts ON sessions(updated_at) WHERE abort_pending",
    """
    CREATE TABLE parts (
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      size BIGINT NOT NULL,
      received_bytes BIGINT NOT NULL DEFAULT 0,
      expected_sha256 TEXT,
      sha256 TEXT,
      etag TEXT,
      state TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      generation BIGINT NOT NULL DEFAULT 0,
      holder_node TEXT,
      PRIMARY KEY (session_id, number)
    )
    """,
    "CREATE INDEX parts_by_holder ON parts(holder_node, state) WHERE holder_node IS NOT NULL",
    "CREATE INDEX parts_received ON parts(session_id) WHERE state = 'received'",
    """
    CREATE TABLE nodes (
      id TEXT PRIMARY KEY,
      started_at BIGINT NOT NULL,
      heartbeat_at BIGINT NOT NULL
    )
    """,
  ]
}
