/// SQLite's `V7SessionOrigin`: which door a session came in by, in a column of its own, and the
/// old metadata marker moved there.
enum P4SessionOrigin {
  static let identifier = "p4-session-origin"

  static let sql = [
    "ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'resumable'",
    """
    UPDATE sessions SET origin = 'original-contract', metadata = '{}'
      WHERE metadata IN (\(SessionOriginMarker.storedForms))
    """,
  ]
}
