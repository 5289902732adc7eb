/// SQLite's `V6NotificationOutbox`: completion notifications still to deliver.
enum P3NotificationOutbox {
  static let identifier = "p3-notification-outbox"

  static let sql = [
    """
    CREATE TABLE notifications (
      id TEXT PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      type TEXT NOT NULL,
      occurred_at BIGINT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      lease_until BIGINT NOT NULL DEFAULT 0,
      last_error TEXT
    )
    """,
    "CREATE INDEX notifications_due ON notifications(next_attempt_at)",
  ]
}
