import Foundation
import UploadCore

extension Journal {
  /// Records a new upload of the file at `path` (pending, nothing sent): its identity (size,
  /// modification time, inode), part plan, object attributes and verify request.
  ///
  /// - Parameters:
  ///   - key: the object key; nil uses the file's base name.
  ///   - partSize: 0 lets the plan choose (8 MiB, larger past 80 GiB).
  ///   - spreadOver: the most streams the upload may run; the plan's part size leaves each two
  ///     parts, down to 5 MiB.
  /// - Throws: `ClientError` for a file that cannot be read; `UploadError` for a key the server
  ///   would refuse (the same rules, `ObjectKey`) or a part size that does not fit the file.
  ///   Nothing is recorded then.
  public func record(
    file path: String, key: String?, server: String, partSize: Int64 = 0, spreadOver streams: Int = 1,
    attributes: ObjectAttributes = ObjectAttributes(), verify: Bool = false, sending: SendingChoices = SendingChoices(),
    batchID: String? = nil
  ) async throws -> JournalUpload {
    let planned = try await Self.plan(
      file: path, key: key, server: server, partSize: partSize, spreadOver: streams, attributes: attributes,
      verify: verify, sending: sending, batchID: batchID)
    try await insert(planned.upload, parts: planned.parts)
    return planned.upload
  }

  /// A new upload of the file at `path` and its parts, checked and planned as `record` does it,
  /// not recorded yet: a batch plans every file, then records them all in one transaction
  /// (`insert(_:)`), so that it is in the journal whole or not at all.
  ///
  /// - Parameter identity: the file's identity when the caller has it (a batch asks for all
  ///   its files' at once, `LocalFile.identities(of:)`); nil asks for it here.
  public static func plan(
    file path: String, key: String?, server: String, partSize: Int64 = 0, spreadOver streams: Int = 1,
    attributes: ObjectAttributes = ObjectAttributes(), verify: Bool = false, sending: SendingChoices = SendingChoices(),
    batchID: String? = nil, identity: FileIdentity? = nil
  ) async throws -> (upload: JournalUpload, parts: [JournalPart]) {
    let path = URL(fileURLWithPath: path).standardizedFileURL.path
    let key = key ?? URL(fileURLWithPath: path).lastPathComponent
    _ = try ObjectKey(validating: key)
    let identity = if let identity { identity } else { try await LocalFile.identity(of: path) }
    let plan = try PartPlan.make(
      size: identity.size, requestedPartSize: partSize, maximumObjectSize: PartSizing.maximumObjectSize,
      spreadOver: streams)
    let upload = JournalUpload(
      id: newUploadID(), server: server, sessionID: nil, filePath: path,
      key: key, identity: identity, partSize: plan.partSize, attributes: attributes, verify: verify,
      sending: sending, batchID: batchID, state: .pending, createdAt: Int64(Date().timeIntervalSince1970 * 1000))
    let parts = (0..<plan.partCount).map { JournalPart(number: $0 + 1, size: plan.size(ofPart: $0 + 1)) }
    return (upload, parts)
  }

  /// A new batch's id: `b` and 10 hex digits, so it is never an upload's id.
  public static func newBatchID() -> String { "b" + newUploadID() }

  /// A new upload's local id: 10 hex digits.
  public static func newUploadID() -> String {
    String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10))
  }
}
