import NIOCore
import UploadCore

/// An `ObjectStore` that uploads at most a fixed number of parts (and single objects) at a time
/// for the whole server, whatever the number of streams and sessions, so memory and open
/// connections to the store do not grow with the number of uploads.
struct BoundedObjectStore: ObjectStore {
  let base: any ObjectStore
  let uploads: AsyncSemaphore

  /// Bounds `base` to `maximumConcurrentUploads` part uploads at once.
  init(base: any ObjectStore, maximumConcurrentUploads: Int) {
    self.base = base
    self.uploads = AsyncSemaphore(permits: maximumConcurrentUploads)
  }

  var name: String { base.name }

  func checkAvailability() async throws(UploadError) { try await base.checkAvailability() }

  func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String {
    try await base.createUpload(key: key, attributes: attributes)
  }

  func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart) async throws(UploadError) -> String {
    try await bounded { () async throws(UploadError) in try await base.uploadPart(key: key, uploadID: uploadID, part: part) }
  }

  /// The base's, not bounded here: a forwarded part waits for its client, so it must not hold
  /// one of the permits that commits from the spool need. `PartForwarder` bounds forwarded
  /// parts itself.
  var growingParts: (any GrowingPartUploads)? { base.growingParts }
  var verifiesDigests: Bool { base.verifiesDigests }

  func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    try await base.completeUpload(key: key, uploadID: uploadID, parts: parts, attributes: attributes)
  }

  func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {
    try await base.abortUpload(key: key, uploadID: uploadID)
  }

  func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] {
    try await base.listParts(key: key, uploadID: uploadID)
  }

  func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject
  {
    try await bounded { () async throws(UploadError) in
      try await base.putObject(key: key, part: part, attributes: attributes)
    }
  }

  func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    try await bounded { () async throws(UploadError) in
      try await base.putObject(key: key, bytes: bytes, sha256: sha256, attributes: attributes)
    }
  }

  /// Not bounded: reading back holds no part's memory, and a verify must not wait behind parts.
  func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
    try await base.digest(ofObject: key)
  }

  func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
  {
    try await base.replaceAttributes(key: key, size: size, attributes: attributes)
  }

  /// Runs `body` holding one of the permits; a caller cancelled while it waits gets `.cancelled`.
  private func bounded<T>(_ body: () async throws(UploadError) -> T) async throws(UploadError) -> T {
    try await uploads.withPermit(
      orIfCancelled: UploadError(.cancelled, "the upload was cancelled while it waited for a turn with the object store"),
      body)
  }
}
