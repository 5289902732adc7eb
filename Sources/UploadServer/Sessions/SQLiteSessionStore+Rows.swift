import Foundation
import GRDB
import UploadCore

/// Rows to records and back.
extension SQLiteSessionStore {
  static func arguments(_ s: SessionRecord) -> StatementArguments {
    let metadata = (try? JSONSerialization.data(withJSONObject: s.metadata, options: [.sortedKeys]))
      .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    return [
      s.id.rawValue, s.owner, s.idempotencyKey, s.key.rawValue, s.plan.size ?? 0, s.plan.partSize,
      s.plan.isSizeKnown ? s.plan.partCount : 0, s.contentType, metadata, s.storageUploadID, s.state.rawValue,
      s.sha256?.hex, s.etag, s.location, s.createdAt, s.updatedAt, s.expiresAt, s.plan.isSizeKnown,
      s.plan.sizing.isUniform ? nil : s.plan.sizing.partsPerTier, s.origin.rawValue,
    ]
  }

  static func session(from row: Row) throws -> SessionRecord {
    let metadataText: String = row["metadata"]
    let metadata = (try? JSONSerialization.jsonObject(with: Data(metadataText.utf8))) as? [String: String] ?? [:]
    let stateName: String = row["state"]
    guard let state = SessionState(rawValue: stateName) else {
      throw UploadError(.internal, "session \(row["id"] as String) has an unknown state \"\(stateName)\"")
    }
    let originName: String = row["origin"]
    guard let origin = SessionOrigin(rawValue: originName) else {
      throw UploadError(.internal, "session \(row["id"] as String) has an unknown origin \"\(originName)\"")
    }
    let key: ObjectKey
    do {
      key = try ObjectKey(validating: row["object_key"])
    } catch {
      // Stored by this server, so a key that no longer validates is the server's fault.
      throw UploadError(.internal, "session \(row["id"] as String) has an invalid object key: \(error)")
    }
    return SessionRecord(
      id: SessionID(unchecked: row["id"]), owner: row["owner"], idempotencyKey: row["idempotency_key"],
      key: key,
      plan: plan(from: row), contentType: row["content_type"],
      metadata: metadata, origin: origin, storageUploadID: row["storage_upload_id"], state: state,
      sha256: (row["sha256"] as String?).flatMap(ContentHash.init(hex:)),
      verifiedSHA256: (row["verified_sha256"] as String?).flatMap(ContentHash.init(hex:)), etag: row["etag"],
      location: row["location"], createdAt: row["created_at"], updatedAt: row["updated_at"],
      expiresAt: row["expires_at"], abortPending: row["abort_pending"])
  }

  static func plan(from row: Row) -> PartPlan {
    let sizing =
      (row["parts_per_tier"] as Int?).map { PartSizing(basePartSize: row["part_size"], partsPerTier: $0) }
      ?? .uniform(row["part_size"])
    return PartPlan(size: row["size_known"] as Bool ? row["size"] as Int64 : nil, sizing: sizing)
  }

  static func part(from row: Row) throws -> PartRecord {
    let stateName: String = row["state"]
    guard let state = PartState(rawValue: stateName) else {
      throw UploadError(.internal, "a part has an unknown state \"\(stateName)\"")
    }
    return PartRecord(
      sessionID: SessionID(unchecked: row["session_id"]), number: row["number"], size: row["size"],
      receivedBytes: row["received_bytes"],
      expectedSHA256: (row["expected_sha256"] as String?).flatMap(ContentHash.init(hex:)),
      sha256: (row["sha256"] as String?).flatMap(ContentHash.init(hex:)), etag: row["etag"], state: state,
      updatedAt: row["updated_at"], generation: UInt64(row["generation"] as Int64), holderNode: row["holder_node"])
  }
}
