import Foundation
import UploadCore
import UploadProtocol

/// An upload in progress: its events as they happen, and its result once done.
public struct RunningUpload: Sendable {
  /// The upload's local id, for `Uploader.resume(_:)` and `Uploader.status(_:)`.
  public let id: String
  /// Progress (bytes the server acknowledged as durable) and retries, as they happen; the
  /// sequence ends when the upload does. Only the newest 64 are kept for a slow reader.
  public let events: AsyncStream<UploadEngine.Event>
  let task: Task<UploadResult, any Error>

  /// The completed upload.
  ///
  /// - Throws: `ClientError` for what the caller must act on (the file changed, the object read
  ///   back did not match, the server refused); `CancellationError` after `cancel()`. The upload
  ///   stays in the journal, and `Uploader.resume(_:)` continues it where that makes sense.
  public var result: UploadResult {
    get async throws { try await task.value }
  }

  /// Stops the upload; what the server acknowledged stays, for `Uploader.resume(_:)`.
  public func cancel() {
    task.cancel()
  }
}

/// A completed upload.
public struct UploadResult: Sendable, Hashable {
  /// The upload's local id.
  public var id: String
  /// The object key.
  public var key: String
  /// The object's size in bytes.
  public var size: Int64
  /// The file's SHA-256, hex.
  public var sha256: String
  /// The object store's ETag.
  public var etag: String
  /// Where the object is (`s3://bucket/key`, `file://...`).
  public var location: String
  /// Whether the server read the object back and found `sha256` (`UploadOptions.verify`).
  public var verified: Bool

  init(_ upload: JournalUpload, session: Uploader_V1_Session, journal finished: JournalUpload) {
    id = upload.id
    key = session.key
    size = Int64(session.size)
    sha256 = finished.sha256?.hex ?? Hex.encode(session.sha256)
    etag = session.etag
    location = session.location
    verified = session.isVerified
  }
}
