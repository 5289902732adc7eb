import Foundation
import UploadCore

/// Records to rows and back, once for both databases.
enum SessionRows {
  /// The columns a new session's row is inserted with.
  static func columns(of s: SessionRecord) -> [(name: String, value: SQLValue)] {
    let metadata = (try? JSONSerialization.data(withJSONObject: s.metadata, options: [.sortedKeys]))
      .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    return [
      ("id", .text(s.id.rawValue)), ("owner", .text(s.owner)), ("idempotency_key", SQLValue(s.idempotencyKey)),
      ("object_key", .text(s.key.rawValue)), ("size", .integer(s.plan.size ?? 0)), ("part_size", .integer(s.plan.partSize)),
      ("part_count", SQLValue(s.plan.isSizeKnown ? s.plan.partCount : 0)), ("content_type", .text(s.contentType)),
      ("metadata", .text(metadata)), ("storage_upload_id", SQLValue(s.storageUploadID)), ("state", .text(s.state.rawValue)),
      ("sha256", SQLValue(s.sha256?.hex)), ("etag", SQLValue(s.etag)), ("location", SQLValue(s.location)),
      ("created_at", .integer(s.createdAt)), ("updated_at", .integer(s.updatedAt)), ("expires_at", .integer(s.expiresAt)),
      ("size_known", .boolean(s.plan.isSizeKnown)),
      ("parts_per_tier", SQLValue(s.plan.sizing.isUniform ? nil : s.plan.sizing.partsPerTier)),
      ("origin", .text(s.origin.rawValue)),
    ]
  }

  static func session(from row: SQLRow) throws(UploadError) -> SessionRecord {
    let id = try row.text("id")
    let metadataText = try row.text("metadata")
    let metadata = (try? JSONSerialization.jsonObject(with: Data(metadataText.utf8))) as? [String: String] ?? [:]
    let stateName = try row.text("state")
    guard let state = SessionState(rawValue: stateName) else {
      throw UploadError(.internal, "session \(id) has an unknown state \"\(stateName)\"")
    }
    let originName = try row.text("origin")
    guard let origin = SessionOrigin(rawValue: originName) else {
      throw UploadError(.internal, "session \(id) has an unknown origin \"\(originName)\"")
    }
    let key: ObjectKey
    do {
      key = try ObjectKey(validating: try row.text("object_key"))
    } catch {
      // Stored by this server, so a key that no longer validates is the server's fault.
      throw UploadError(.internal, "session \(id) has an invalid object key: \(error)")
    }
    let partSize = try row.integer("part_size")
    let sizing =
      try row.optionalInteger("parts_per_tier").map { PartSizing(basePartSize: partSize, partsPerTier: Int($0)) }
      ?? .uniform(partSize)
    return SessionRecord(
      id: SessionID(unchecked: id), owner: try row.text("owner"), idempotencyKey: try row.optionalText("idempotency_key"),
      key: key, plan: PartPlan(size: try row.boolean("size_known") ? try row.integer("size") : nil, sizing: sizing),
      contentType: try row.text("content_type"), metadata: metadata, origin: origin,
      storageUploadID: try row.optionalText("storage_upload_id"), state: state,
      sha256: try row.optionalText("sha256").flatMap(ContentHash.init(hex:)),
      verifiedSHA256: try row.optionalText("verified_sha256").flatMap(ContentHash.init(hex:)),
      etag: try row.optionalText("etag"), location: try row.optionalText("location"),
      createdAt: try row.integer("created_at"), updatedAt: try row.integer("updated_at"),
      expiresAt: try row.integer("expires_at"), abortPending: try row.boolean("abort_pending"))
  }

  static func part(from row: SQLRow) throws(UploadError) -> PartRecord {
    let stateName = try row.text("state")
    guard let state = PartState(rawValue: stateName) else {
      throw UploadError(.internal, "a part has an unknown state \"\(stateName)\"")
    }
    return PartRecord(
      sessionID: SessionID(unchecked: try row.text("session_id")), number: Int(try row.integer("number")),
      size: try row.integer("size"), receivedBytes: try row.integer("received_bytes"),
      expectedSHA256: try row.optionalText("expected_sha256").flatMap(ContentHash.init(hex:)),
      sha256: try row.optionalText("sha256").flatMap(ContentHash.init(hex:)), etag: try row.optionalText("etag"),
      state: state, updatedAt: try row.integer("updated_at"), generation: UInt64(try row.integer("generation")),
      holderNode: try row.optionalText("holder_node"))
  }

  static func notification(from row: SQLRow) throws(UploadError) -> QueuedNotification {
    QueuedNotification(
      id: try row.text("id"), sessionID: SessionID(unchecked: try row.text("session_id")),
      type: SessionState(rawValue: try row.text("type")) ?? .completed, occurredAt: try row.integer("occurred_at"),
      attempts: Int(try row.integer("attempts")))
  }
}
