import UploadCore

extension SessionCatalogue {
  static func parts(of id: SessionID) -> SQLStatement {
    SQLStatement("SELECT * FROM parts WHERE session_id = ? ORDER BY number", [.text(id.rawValue)])
  }

  static func part(of id: SessionID, number: Int) -> SQLStatement {
    SQLStatement("SELECT * FROM parts WHERE session_id = ? AND number = ?", [.text(id.rawValue), SQLValue(number)])
  }

  /// Makes `node` the part's writer (see `SessionStore.claim`); no row when the session ended
  /// before the part.
  static func claim(_ id: SessionID, number: Int, size: Int64, now: Int64, node: String) -> SQLStatement {
    SQLStatement(
      """
      INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at, generation, holder_node)
      SELECT ?, ?, ?, 0, 'receiving', ?, 1, ? FROM sessions
      WHERE id = ? AND (NOT size_known OR part_count >= ?)
      ON CONFLICT (session_id, number) DO UPDATE SET generation = parts.generation + 1,
        received_bytes = CASE WHEN parts.state = 'receiving' AND parts.holder_node IS DISTINCT FROM excluded.holder_node
          THEN 0 ELSE parts.received_bytes END,
        holder_node = CASE WHEN parts.state = 'receiving' THEN excluded.holder_node ELSE parts.holder_node END
      RETURNING *
      """,
      [
        .text(id.rawValue), SQLValue(number), .integer(size), .integer(now), .text(node), .text(id.rawValue),
        SQLValue(number),
      ])
  }

  /// Replaces the part's row if its generation is still `part.generation`; returns its number,
  /// or no row when a newer writer claimed it.
  static func update(_ part: PartRecord) -> SQLStatement {
    SQLStatement(
      """
      UPDATE parts SET size = ?, received_bytes = ?, expected_sha256 = ?, sha256 = ?, etag = ?, state = ?,
        updated_at = ? WHERE session_id = ? AND number = ? AND generation = ?
      RETURNING number
      """,
      [
        .integer(part.size), .integer(part.receivedBytes), SQLValue(part.expectedSHA256?.hex), SQLValue(part.sha256?.hex),
        SQLValue(part.etag), .text(part.state.rawValue), .integer(part.updatedAt), .text(part.sessionID.rawValue),
        SQLValue(part.number), .integer(Int64(part.generation)),
      ])
  }

  /// The first part after `number` that holds bytes, as `n` (NULL when none does).
  static func firstPartWithBytes(of id: SessionID, after number: Int) -> SQLStatement {
    SQLStatement(
      "SELECT MIN(number) AS n FROM parts WHERE session_id = ? AND number > ? AND received_bytes > 0",
      [.text(id.rawValue), SQLValue(number)])
  }

  static func dropParts(of id: SessionID, after number: Int) -> SQLStatement {
    SQLStatement("DELETE FROM parts WHERE session_id = ? AND number > ?", [.text(id.rawValue), SQLValue(number)])
  }

  /// Records a received part as committed with `etag`; returns it, or no row when it was not
  /// received.
  static func commit(_ id: SessionID, number: Int, etag: String, now: Int64) -> SQLStatement {
    SQLStatement(
      """
      UPDATE parts SET state = 'committed', etag = ?, updated_at = ?
      WHERE session_id = ? AND number = ? AND state = 'received'
      RETURNING *
      """, [.text(etag), .integer(now), .text(id.rawValue), SQLValue(number)])
  }

  /// Puts a part back to `receivedBytes` under a new generation (see `SessionStore.reset`).
  static func reset(_ part: PartRecord, to receivedBytes: Int64, node: String) -> SQLStatement {
    SQLStatement(
      """
      UPDATE parts SET received_bytes = ?,
        expected_sha256 = CASE WHEN ? = 0 THEN NULL ELSE expected_sha256 END,
        sha256 = NULL, etag = NULL, state = 'receiving', generation = generation + 1,
        holder_node = CASE WHEN ? > 0 THEN ? ELSE holder_node END
      WHERE session_id = ? AND number = ?
      """,
      [
        .integer(receivedBytes), .integer(receivedBytes), .integer(receivedBytes), .text(node),
        .text(part.sessionID.rawValue), SQLValue(part.number),
      ])
  }

  // MARK: - Notifications

  /// Queues the event of `session` reaching `state` (once: queuing it again does nothing).
  static func enqueueNotification(_ session: SessionID, _ state: SessionState, at time: Int64) -> SQLStatement {
    SQLStatement(
      """
      INSERT INTO notifications (id, session_id, type, occurred_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO NOTHING
      """,
      [
        .text(NotificationOutbox.eventID(session, state)), .text(session.rawValue), .text(state.rawValue),
        .integer(time), .integer(time),
      ])
  }

  static func takeDueNotifications(now: Int64, leaseUntil: Int64, limit: Int) -> SQLStatement {
    SQLStatement(
      """
      UPDATE notifications SET lease_until = ? WHERE id IN (
        SELECT id FROM notifications WHERE next_attempt_at <= ? AND lease_until <= ?
        ORDER BY occurred_at LIMIT ? \(SQLStatement.skipLocked))
      RETURNING *
      """, [.integer(leaseUntil), .integer(now), .integer(now), SQLValue(limit)])
  }

  static func deleteNotification(_ id: String) -> SQLStatement {
    SQLStatement("DELETE FROM notifications WHERE id = ?", [.text(id)])
  }

  static func retryNotification(_ id: String, at time: Int64, error: String?) -> SQLStatement {
    SQLStatement(
      """
      UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_until = 0
      WHERE id = ?
      """, [.integer(time), SQLValue(error), .text(id)])
  }

  static let queuedNotificationCount = SQLStatement("SELECT COUNT(*) AS n FROM notifications")
}
