import Foundation
import UploadCore

/// Every statement the session store runs, written once for SQLite and PostgreSQL alike.
///
/// Times are milliseconds since the Unix epoch, digests lowercase hex; the tables are those of
/// `ServerSchema` (SQLite) and `PostgresSchema`, which have the same columns.
enum SessionCatalogue {
  static let open = "('open', 'completing')"

  // MARK: - Nodes

  static let ping = SQLStatement("SELECT 1 AS one")

  static func heartbeat(node: String, now: Int64) -> SQLStatement {
    SQLStatement(
      """
      INSERT INTO nodes (id, started_at, heartbeat_at) VALUES (?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
      """, [.text(node), .integer(now), .integer(now)])
  }

  static func nodes(heartbeatSince time: Int64) -> SQLStatement {
    SQLStatement("SELECT id FROM nodes WHERE heartbeat_at >= ? ORDER BY id", [.integer(time)])
  }

  /// Parts not yet committed whose holder's heartbeat lapsed, locked for the caller.
  static func partsOfLapsedNodes(lapsedBefore: Int64, node: String) -> SQLStatement {
    SQLStatement(
      """
      SELECT * FROM parts WHERE state IN ('receiving', 'received') AND holder_node IN
        (SELECT id FROM nodes WHERE heartbeat_at < ? AND id <> ?)
      \(SQLStatement.skipLocked)
      """, [.integer(lapsedBefore), .text(node)])
  }

  /// Back to nothing received, no holder, a new generation; unless a writer moved it on since.
  static func forget(_ part: PartRecord) -> SQLStatement {
    SQLStatement(
      """
      UPDATE parts SET received_bytes = 0, sha256 = NULL, etag = NULL, state = 'receiving',
        generation = generation + 1, holder_node = NULL
      WHERE session_id = ? AND number = ? AND generation = ?
      """, [.text(part.sessionID.rawValue), SQLValue(part.number), .integer(Int64(part.generation))])
  }

  // MARK: - Sessions

  static func session(_ id: SessionID) -> SQLStatement {
    SQLStatement("SELECT * FROM sessions WHERE id = ?", [.text(id.rawValue)])
  }

  static func session(owner: String, idempotencyKey: String) -> SQLStatement {
    SQLStatement(
      "SELECT * FROM sessions WHERE owner = ? AND idempotency_key = ?", [.text(owner), .text(idempotencyKey)])
  }

  static func sessions(owner: String, idempotencyKeys: [String]) -> SQLStatement {
    SQLStatement(
      "SELECT * FROM sessions WHERE owner = ? AND idempotency_key IN (\(SQLStatement.placeholders(idempotencyKeys.count)))",
      [.text(owner)] + idempotencyKeys.map { .text($0) })
  }

  /// Inserts `s` unless its owner already has a session with its idempotency key; returns the
  /// new row's id, or no row.
  static func insert(_ s: SessionRecord) -> SQLStatement {
    let columns = SessionRows.columns(of: s)
    return SQLStatement(
      """
      INSERT INTO sessions (\(columns.map(\.name).joined(separator: ", ")))
      VALUES (\(SQLStatement.placeholders(columns.count)))
      ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id
      """, columns.map(\.value))
  }

  /// Rows for `parts` of session `id`, nothing received yet. At most `partsPerInsert` at once.
  static func insert(parts: ArraySlice<PartRecord>, of id: SessionID, at time: Int64) -> SQLStatement {
    let rows = Array(repeating: "(?, ?, ?, 0, 'receiving', ?)", count: parts.count).joined(separator: ", ")
    return SQLStatement(
      "INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at) VALUES \(rows)",
      parts.flatMap { [.text(id.rawValue), SQLValue($0.number), .integer($0.size), .integer(time)] },
      isReused: parts.count == 1)
  }

  /// The row of a part stored with its session's object in one step (`UploadObject`): all of it
  /// received, and committed.
  static func insert(committed part: PartRecord) -> SQLStatement {
    SQLStatement(
      """
      INSERT INTO parts (session_id, number, size, received_bytes, sha256, etag, state, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, 'committed', ?)
      """,
      [
        .text(part.sessionID.rawValue), SQLValue(part.number), .integer(part.size), .integer(part.size),
        SQLValue(part.sha256?.hex), SQLValue(part.etag), .integer(part.updatedAt),
      ])
  }

  /// Parts per insert: four arguments each stays below both databases' limits on arguments.
  static let partsPerInsert = 1000

  static func sessions(owner: String, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int) -> SQLStatement {
    guard let cursor else {
      return SQLStatement(
        "SELECT * FROM sessions WHERE owner = ? ORDER BY created_at DESC, id DESC LIMIT ?", [.text(owner), SQLValue(limit)])
    }
    return SQLStatement(
      """
      SELECT * FROM sessions WHERE owner = ? AND (created_at < ? OR (created_at = ? AND id < ?))
      ORDER BY created_at DESC, id DESC LIMIT ?
      """,
      [.text(owner), .integer(cursor.createdAt), .integer(cursor.createdAt), .text(cursor.id.rawValue), SQLValue(limit)])
  }

  static func openSessionCount(owner: String) -> SQLStatement {
    SQLStatement("SELECT COUNT(*) AS n FROM sessions WHERE owner = ? AND state IN \(open)", [.text(owner)])
  }

  static func sessions(in states: Set<SessionState>) -> SQLStatement {
    let names = states.map(\.rawValue).sorted()
    return SQLStatement(
      "SELECT * FROM sessions WHERE state IN (\(SQLStatement.placeholders(names.count))) ORDER BY created_at",
      names.map(SQLValue.text))
  }

  static func sessionsExpiring(before time: Int64) -> SQLStatement {
    SQLStatement(
      "SELECT * FROM sessions WHERE state IN \(open) AND expires_at <= ? ORDER BY expires_at", [.integer(time)])
  }

  /// Received parts of open sessions held by `node` or by none, by session.
  static func receivedParts(node: String) -> SQLStatement {
    SQLStatement(
      """
      SELECT parts.session_id, parts.number FROM parts JOIN sessions ON sessions.id = parts.session_id
      WHERE parts.state = 'received' AND sessions.state IN \(open)
        AND (parts.holder_node = ? OR parts.holder_node IS NULL)
      ORDER BY parts.session_id, parts.number
      """, [.text(node)])
  }

  static func takePendingAborts(now: Int64, leaseUntil: Int64, limit: Int) -> SQLStatement {
    SQLStatement(
      """
      UPDATE sessions SET abort_lease_until = ? WHERE id IN (
        SELECT id FROM sessions WHERE abort_pending AND abort_lease_until <= ?
        ORDER BY updated_at LIMIT ? \(SQLStatement.skipLocked))
      RETURNING *
      """, [.integer(leaseUntil), .integer(now), SQLValue(limit)])
  }

  static func finishAbort(_ id: SessionID, done: Bool) -> SQLStatement {
    SQLStatement(
      "UPDATE sessions SET abort_pending = (abort_pending AND NOT ?), abort_lease_until = 0 WHERE id = ?",
      [.boolean(done), .text(id.rawValue)])
  }

  /// Gives up an open session; returns it, or no row when it was not open.
  static func close(_ id: SessionID, as state: SessionState, now: Int64) -> SQLStatement {
    SQLStatement(
      """
      UPDATE sessions SET state = ?, updated_at = ?, abort_pending = (storage_upload_id IS NOT NULL),
        abort_lease_until = 0
      WHERE id = ? AND state IN \(open) RETURNING *
      """, [.text(state.rawValue), .integer(now), .text(id.rawValue)])
  }

  static let countsByState = SQLStatement("SELECT state, COUNT(*) AS n FROM sessions GROUP BY state")

  static func update(_ s: SessionRecord) -> SQLStatement {
    SQLStatement(
      """
      UPDATE sessions SET storage_upload_id = ?, state = ?, sha256 = ?, verified_sha256 = ?, etag = ?,
        location = ?, updated_at = ?, expires_at = ?, abort_pending = ? WHERE id = ?
      """,
      [
        SQLValue(s.storageUploadID), .text(s.state.rawValue), SQLValue(s.sha256?.hex), SQLValue(s.verifiedSHA256?.hex),
        SQLValue(s.etag), SQLValue(s.location), .integer(s.updatedAt), .integer(s.expiresAt), .boolean(s.abortPending),
        .text(s.id.rawValue),
      ])
  }

  /// Moves an open session's idle clock on.
  static func touch(_ id: SessionID, updatedAt: Int64, expiresAt: Int64) -> SQLStatement {
    SQLStatement(
      "UPDATE sessions SET updated_at = ?, expires_at = ? WHERE id = ? AND state IN \(open)",
      [.integer(updatedAt), .integer(expiresAt), .text(id.rawValue)])
  }

  /// Fixes the size of a session of unknown size.
  static func fixSize(_ id: SessionID, size: Int64, partCount: Int) -> SQLStatement {
    SQLStatement(
      "UPDATE sessions SET size = ?, part_count = ?, size_known = TRUE WHERE id = ? AND NOT size_known",
      [.integer(size), SQLValue(partCount), .text(id.rawValue)])
  }
}
