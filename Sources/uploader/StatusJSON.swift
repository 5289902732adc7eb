import Foundation
import UploaderClient

/// One upload in `status --json` (and `upload --json`, `resume --json`).
struct StatusJSON: Encodable {
  /// The layout of this object; it changes only when a field changes meaning or goes away.
  static let schemaVersion = 1

  var schemaVersion = Self.schemaVersion
  var id: String
  var sessionID: String?
  var state: String
  var file: String
  var key: String
  var server: String
  var size: Int64
  var committedBytes: Int64
  /// Null until the whole file has been hashed.
  var sha256: String?
  var createdAt: Int64
  var finishedAt: Int64?
  var error: String?
  /// Whether `uploader resume` can continue it: not an upload of standard input, whose bytes
  /// are gone once its uploader stopped.
  var resumable: Bool
  /// The object's content type and metadata, as asked for.
  var contentType: String
  var metadata: [String: String]
  /// Whether the server read the object back and found the file's SHA-256: known right after
  /// `upload` and `resume` (null in `status`, which does not ask; `uploader verify` does).
  var verified: Bool?
  /// The batch it belongs to (`uploader upload DIR`), or null.
  var batchID: String?
  /// What the connections did: only after `upload` and `resume` of a file.
  var transport: TransportTally.JSON?

  enum CodingKeys: String, CodingKey {
    case id, state, file, key, server, size, sha256, error, resumable, metadata, verified, transport
    case batchID = "batch_id"
    case contentType = "content_type"
    case schemaVersion = "schema_version"
    case sessionID = "session_id"
    case committedBytes = "committed_bytes"
    case createdAt = "created_at"
    case finishedAt = "finished_at"
  }

  init(_ upload: JournalUpload, parts: [JournalPart], committedBytes: Int64? = nil) {
    id = upload.id
    sessionID = upload.sessionID
    state = upload.state.rawValue
    file = upload.filePath
    key = upload.key
    server = upload.server
    size = upload.identity.size
    self.committedBytes =
      committedBytes ?? (upload.state == .completed ? upload.identity.size : parts.reduce(0) { $0 + $1.acknowledgedBytes })
    sha256 = upload.sha256?.hex
    createdAt = upload.createdAt
    finishedAt = upload.finishedAt
    error = upload.error
    resumable = !upload.readsStandardInput && [.pending, .uploading, .failed].contains(upload.state)
    contentType = upload.attributes.contentType
    metadata = upload.attributes.metadata
    batchID = upload.batchID
  }

  static func json<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }
}
