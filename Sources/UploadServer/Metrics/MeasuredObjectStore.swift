import NIOCore
import UploadCore

/// An `ObjectStore` that times every call and counts errors and committed bytes, around any
/// other store.
struct MeasuredObjectStore: ObjectStore {
  let base: any ObjectStore
  let metrics: ServerMetrics

  var name: String { base.name }

  func checkAvailability() async throws(UploadError) {
    try await measure("CheckAvailability") { () async throws(UploadError) in try await base.checkAvailability() }
  }

  func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String {
    try await measure("CreateUpload") { () async throws(UploadError) in
      try await base.createUpload(key: key, attributes: attributes)
    }
  }

  func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart) async throws(UploadError) -> String {
    let etag = try await measure("UploadPart") { () async throws(UploadError) in
      try await base.uploadPart(key: key, uploadID: uploadID, part: part)
    }
    metrics.bytesCommitted.increment(by: Int(part.size))
    metrics.partsCommitted.increment()
    return etag
  }

  /// The base's, measured (`Forwarding`).
  var growingParts: (any GrowingPartUploads)? {
    base.growingParts.map { Forwarding(base: $0, measured: self) }
  }
  var verifiesDigests: Bool { base.verifiesDigests }

  /// A forwarded part, timed as "ForwardPart": the time includes waiting for the client's bytes.
  struct Forwarding: GrowingPartUploads {
    let base: any GrowingPartUploads
    let measured: MeasuredObjectStore

    func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart, growing: GrowingFile)
      async throws(UploadError) -> String
    {
      let etag = try await measured.measure("ForwardPart") { () async throws(UploadError) in
        try await base.uploadPart(key: key, uploadID: uploadID, part: part, growing: growing)
      }
      measured.metrics.bytesCommitted.increment(by: Int(part.size))
      measured.metrics.partsCommitted.increment()
      measured.metrics.partsForwarded.increment()
      return etag
    }
  }

  func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    try await measure("CompleteUpload") { () async throws(UploadError) in
      try await base.completeUpload(key: key, uploadID: uploadID, parts: parts, attributes: attributes)
    }
  }

  func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {
    try await measure("AbortUpload") { () async throws(UploadError) in
      try await base.abortUpload(key: key, uploadID: uploadID)
    }
  }

  func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] {
    try await measure("ListParts") { () async throws(UploadError) in
      try await base.listParts(key: key, uploadID: uploadID)
    }
  }

  func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject
  {
    let object = try await measure("PutObject") { () async throws(UploadError) in
      try await base.putObject(key: key, part: part, attributes: attributes)
    }
    metrics.bytesCommitted.increment(by: Int(part.size))
    return object
  }

  func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    let object = try await measure("PutObject") { () async throws(UploadError) in
      try await base.putObject(key: key, bytes: bytes, sha256: sha256, attributes: attributes)
    }
    metrics.bytesCommitted.increment(by: bytes.readableBytes)
    return object
  }

  func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
    try await measure("ReadObject") { () async throws(UploadError) in try await base.digest(ofObject: key) }
  }

  func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
  {
    try await measure("ReplaceAttributes") { () async throws(UploadError) in
      try await base.replaceAttributes(key: key, size: size, attributes: attributes)
    }
  }

  func measure<T>(_ operation: String, _ body: () async throws(UploadError) -> T) async throws(UploadError) -> T {
    let start = ContinuousClock.now
    defer {
      let elapsed = start.duration(to: .now).components
      metrics.storeRequestTimer(operation).recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
    do {
      return try await body()
    } catch {
      metrics.storeError(operation, code: error.code)
      throw error
    }
  }
}
