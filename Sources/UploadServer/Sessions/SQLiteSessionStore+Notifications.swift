import GRDB
import UploadCore

extension SQLiteSessionStore {
  public func takeDueNotifications(now: Int64, leaseUntil: Int64, limit: Int) async throws(UploadError)
    -> [QueuedNotification]
  {
    try await write { db in
      try Row.fetchAll(
        db,
        sql: """
          UPDATE notifications SET lease_until = ? WHERE id IN (
            SELECT id FROM notifications WHERE next_attempt_at <= ? AND lease_until <= ?
            ORDER BY occurred_at LIMIT ?)
          RETURNING *
          """, arguments: [leaseUntil, now, now, limit]
      ).map { row in
        QueuedNotification(
          id: row["id"], sessionID: SessionID(unchecked: row["session_id"]),
          type: SessionState(rawValue: row["type"]) ?? .completed, occurredAt: row["occurred_at"],
          attempts: row["attempts"])
      }.sorted { $0.occurredAt < $1.occurredAt }
    }
  }

  public func finishNotification(_ id: String, delivered: Bool, retryAt: Int64, error: String?) async throws(UploadError) {
    try await write { db in
      if delivered {
        try db.execute(sql: "DELETE FROM notifications WHERE id = ?", arguments: [id])
      } else {
        try db.execute(
          sql: """
            UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_until = 0
            WHERE id = ?
            """, arguments: [retryAt, error, id])
      }
    }
  }

  public func queuedNotificationCount() async throws(UploadError) -> Int {
    try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications") ?? 0 }
  }

  /// Queues the event of `session` reaching `state`, in the caller's transaction.
  static func enqueueNotification(_ db: Database, _ session: SessionID, _ state: SessionState, at time: Int64) throws {
    try db.execute(
      sql: """
        INSERT INTO notifications (id, session_id, type, occurred_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO NOTHING
        """, arguments: [NotificationOutbox.eventID(session, state), session.rawValue, state.rawValue, time, time])
  }
}
