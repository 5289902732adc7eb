import Foundation
import NIOFileSystem
import Synchronization
import NIOCore
import UploadCore

/// An object store that keeps no bytes: every part is dropped once received, and only its
/// number, size and ETag are remembered until the upload completes or is aborted (so that
/// CompleteSession finds the parts listed). Only for `scripts/bench.sh`, whose "server discards
/// parts" row measures what the server costs without a store behind it (gRPC, the spool and the
/// part's SHA-256). Selected by the hidden `uploader-server --discard-objects-for-benchmarks`.
public final class DiscardingStore: ObjectStore {
  private let uploads = Mutex<[String: [Int: ListedPart]]>([:])

  public init() {}

  public var name: String { "discard://" }

  /// True, as S3's: the server then skips the hashing it skips for S3, so the benchmark row
  /// shows the server's cost on the S3 path minus S3 itself. Nothing is kept, so nothing is lost.
  public var verifiesDigests: Bool { true }

  public func checkAvailability() async throws(UploadError) {}

  public func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String {
    let id = UUID().uuidString.lowercased()
    uploads.withLock { $0[id] = [:] }
    return id
  }

  public func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart) async throws(UploadError) -> String {
    await drop(part)
    let etag = "\"\(part.sha256.hex)\""
    uploads.withLock { $0[uploadID, default: [:]][part.number] = ListedPart(etag: etag, size: part.size) }
    return etag
  }

  public func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    uploads.withLock { _ = $0.removeValue(forKey: uploadID) }
    let etag = ContentHash.of(parts.sorted { $0.number < $1.number }.flatMap(\.sha256.bytes)).hex
    return StoredObject(key: key, location: "discard://\(key)", etag: "\"\(etag)-\(parts.count)\"")
  }

  public func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {
    uploads.withLock { _ = $0.removeValue(forKey: uploadID) }
  }

  public func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] {
    guard let parts = uploads.withLock({ $0[uploadID] }) else {
      throw UploadError(.sessionClosed, "the upload of \"\(key)\" no longer exists")
    }
    return parts.mapValues { [$0] }
  }

  public func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject
  {
    await drop(part)
    return StoredObject(key: key, location: "discard://\(key)", etag: "\"\(part.sha256.hex)\"")
  }

  public func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    StoredObject(key: key, location: "discard://\(key)", etag: "\"\(sha256.hex)\"")
  }

  /// Refuses: there are no bytes to read back.
  public func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
    throw UploadError(.storageRejected, "\(name) keeps no bytes, so \"\(key)\" cannot be read back")
  }

  /// Does nothing: there is no object to give attributes to.
  public func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
  {
    nil
  }

  private func drop(_ part: SpooledPart) async {
    _ = try? await FileSystem.shared.removeItem(at: FilePath(part.path))
  }
}
