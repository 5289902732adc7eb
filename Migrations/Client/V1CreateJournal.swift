/// Uploads and their parts, as the CLI remembers them.
///
/// Times are milliseconds since the Unix epoch; `mtime_ns` is the file's modification time in
/// nanoseconds. Digests are lowercase hex.
enum V1CreateJournal {
  static let identifier = "v1-create-journal"

  static let sql = """
    CREATE TABLE uploads (
      id TEXT PRIMARY KEY NOT NULL,
      server TEXT NOT NULL,
      session_id TEXT,
      file_path TEXT NOT NULL,
      object_key TEXT NOT NULL,
      size INTEGER NOT NULL,
      mtime_ns INTEGER NOT NULL,
      inode INTEGER NOT NULL,
      part_size INTEGER NOT NULL,
      state TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      error TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER
    );
    CREATE INDEX uploads_by_creation ON uploads(created_at);
    CREATE INDEX uploads_by_session ON uploads(session_id);

    CREATE TABLE upload_parts (
      upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      size INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      acknowledged_bytes INTEGER NOT NULL DEFAULT 0,
      committed INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (upload_id, number)
    ) WITHOUT ROWID;
    """
}
