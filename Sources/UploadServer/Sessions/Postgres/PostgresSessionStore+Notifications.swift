import PostgresNIO
import UploadCore

extension PostgresSessionStore {
  public func takeDueNotifications(now: Int64, leaseUntil: Int64, limit: Int) async throws(UploadError)
    -> [QueuedNotification]
  {
    var taken: [QueuedNotification] = []
    for row in try await rows("""
      UPDATE notifications SET lease_until = \(leaseUntil) WHERE id IN (
        SELECT id FROM notifications WHERE next_attempt_at <= \(now) AND lease_until <= \(now)
        ORDER BY occurred_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
      RETURNING *
      """)
    {
      let cells = row.makeRandomAccess()
      taken.append(
        QueuedNotification(
          id: try Self.decode(cells, "id", as: String.self),
          sessionID: SessionID(unchecked: try Self.decode(cells, "session_id", as: String.self)),
          type: SessionState(rawValue: try Self.decode(cells, "type", as: String.self)) ?? .completed,
          occurredAt: try Self.decode(cells, "occurred_at", as: Int64.self),
          attempts: try Self.decode(cells, "attempts", as: Int.self)))
    }
    return taken.sorted { $0.occurredAt < $1.occurredAt }
  }

  public func finishNotification(_ id: String, delivered: Bool, retryAt: Int64, error: String?) async throws(UploadError) {
    if delivered {
      _ = try await rows("DELETE FROM notifications WHERE id = \(id)")
    } else {
      _ = try await rows("""
        UPDATE notifications SET attempts = attempts + 1, next_attempt_at = \(retryAt), last_error = \(error),
          lease_until = 0
        WHERE id = \(id)
        """)
    }
  }

  public func queuedNotificationCount() async throws(UploadError) -> Int {
    guard let row = try await rows("SELECT COUNT(*) AS n FROM notifications").first else { return 0 }
    return try Self.decode(row.makeRandomAccess(), "n", as: Int.self)
  }
}
