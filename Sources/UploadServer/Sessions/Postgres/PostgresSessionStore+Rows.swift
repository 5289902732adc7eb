import Foundation
import PostgresNIO
import UploadCore

/// Rows to records and back.
extension PostgresSessionStore {
  /// Inserts `s` unless its owner already has a session with its idempotency key; returns the
  /// new row's id, or no row.
  static func insertQuery(_ s: SessionRecord) throws(UploadError) -> PostgresQuery {
    let metadata = (try? JSONSerialization.data(withJSONObject: s.metadata, options: [.sortedKeys]))
      .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    let partCount = s.plan.isSizeKnown ? s.plan.partCount : 0
    let partsPerTier: Int? = s.plan.sizing.isUniform ? nil : s.plan.sizing.partsPerTier
    return """
      INSERT INTO sessions (id, owner, idempotency_key, object_key, size, part_size, part_count,
        content_type, metadata, storage_upload_id, state, sha256, etag, location, created_at,
        updated_at, expires_at, size_known, parts_per_tier, origin)
      VALUES (\(s.id.rawValue), \(s.owner), \(s.idempotencyKey), \(s.key.rawValue), \(s.plan.size ?? 0),
        \(s.plan.partSize), \(partCount), \(s.contentType), \(metadata), \(s.storageUploadID), \(s.state.rawValue),
        \(s.sha256?.hex), \(s.etag), \(s.location), \(s.createdAt), \(s.updatedAt), \(s.expiresAt),
        \(s.plan.isSizeKnown), \(partsPerTier), \(s.origin.rawValue))
      ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id
      """
  }

  static func session(from row: PostgresRow) throws(UploadError) -> SessionRecord {
    let cells = row.makeRandomAccess()
    let id = try decode(cells, "id", as: String.self)
    let metadataText = try decode(cells, "metadata", as: String.self)
    let metadata = (try? JSONSerialization.jsonObject(with: Data(metadataText.utf8))) as? [String: String] ?? [:]
    let stateName = try decode(cells, "state", as: String.self)
    guard let state = SessionState(rawValue: stateName) else {
      throw UploadError(.internal, "session \(id) has an unknown state \"\(stateName)\"")
    }
    let originName = try decode(cells, "origin", as: String.self)
    guard let origin = SessionOrigin(rawValue: originName) else {
      throw UploadError(.internal, "session \(id) has an unknown origin \"\(originName)\"")
    }
    let partSize = try decode(cells, "part_size", as: Int64.self)
    let sizing =
      try decode(cells, "parts_per_tier", as: Int?.self).map { PartSizing(basePartSize: partSize, partsPerTier: $0) }
      ?? .uniform(partSize)
    let sizeKnown = try decode(cells, "size_known", as: Bool.self)
    let key: ObjectKey
    do {
      key = try ObjectKey(validating: try decode(cells, "object_key", as: String.self))
    } catch {
      throw UploadError(.internal, "session \(id) has an invalid object key: \(error)")
    }
    return SessionRecord(
      id: SessionID(unchecked: id), owner: try decode(cells, "owner", as: String.self),
      idempotencyKey: try decode(cells, "idempotency_key", as: String?.self), key: key,
      plan: PartPlan(size: sizeKnown ? try decode(cells, "size", as: Int64.self) : nil, sizing: sizing),
      contentType: try decode(cells, "content_type", as: String.self), metadata: metadata, origin: origin,
      storageUploadID: try decode(cells, "storage_upload_id", as: String?.self), state: state,
      sha256: try decode(cells, "sha256", as: String?.self).flatMap(ContentHash.init(hex:)),
      verifiedSHA256: try decode(cells, "verified_sha256", as: String?.self).flatMap(ContentHash.init(hex:)),
      etag: try decode(cells, "etag", as: String?.self), location: try decode(cells, "location", as: String?.self),
      createdAt: try decode(cells, "created_at", as: Int64.self),
      updatedAt: try decode(cells, "updated_at", as: Int64.self),
      expiresAt: try decode(cells, "expires_at", as: Int64.self),
      abortPending: try decode(cells, "abort_pending", as: Bool.self))
  }

  static func part(from row: PostgresRow) throws(UploadError) -> PartRecord {
    let cells = row.makeRandomAccess()
    let stateName = try decode(cells, "state", as: String.self)
    guard let state = PartState(rawValue: stateName) else {
      throw UploadError(.internal, "a part has an unknown state \"\(stateName)\"")
    }
    return PartRecord(
      sessionID: SessionID(unchecked: try decode(cells, "session_id", as: String.self)),
      number: try decode(cells, "number", as: Int.self), size: try decode(cells, "size", as: Int64.self),
      receivedBytes: try decode(cells, "received_bytes", as: Int64.self),
      expectedSHA256: try decode(cells, "expected_sha256", as: String?.self).flatMap(ContentHash.init(hex:)),
      sha256: try decode(cells, "sha256", as: String?.self).flatMap(ContentHash.init(hex:)),
      etag: try decode(cells, "etag", as: String?.self), state: state,
      updatedAt: try decode(cells, "updated_at", as: Int64.self),
      generation: UInt64(try decode(cells, "generation", as: Int64.self)),
      holderNode: try decode(cells, "holder_node", as: String?.self))
  }

  static func decode<T: PostgresDecodable>(_ cells: PostgresRandomAccessRow, _ column: String, as type: T.Type)
    throws(UploadError) -> T
  {
    do {
      return try cells[column].decode(T.self)
    } catch {
      throw UploadError(.internal, "session database: column \(column) does not decode as \(T.self): \(error)")
    }
  }

  static func decode<T: PostgresDecodable>(_ row: PostgresRow?, _ column: String, as type: T.Type)
    throws(UploadError) -> T?
  {
    guard let row else { return nil }
    return try decode(row.makeRandomAccess(), column, as: T.self)
  }
}
