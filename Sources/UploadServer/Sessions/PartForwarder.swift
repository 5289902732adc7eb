import Synchronization
import UploadCore

/// Starts uploads of parts to the object store while their bytes are still arriving, so that a
/// part is in the store moments after its last byte instead of one store upload later.
///
/// A forwarded part holds an S3 request open while its client sends, so forwarding has its own
/// pool of places, taken only when one is free: when none is, the part is committed from the
/// spool once received, as it always could be. The spool stays the truth either way: the
/// forward reads the spool file behind the writer, and a forward that fails or is abandoned
/// costs only the commit from the spool.
struct PartForwarder: Sendable {
  let store: any GrowingPartUploads
  let key: ObjectKey
  let uploadID: String
  let places: ForwardingPlaces

  /// Starts uploading part `number` (its spool file at `path`) with the client's declared
  /// digest, or returns nil when every place is taken.
  func start(number: Int, path: String, size: Int64, declared: ContentHash) -> ForwardedPart? {
    guard places.take() else { return nil }
    let growing = GrowingFile()
    let part = SpooledPart(number: number, path: path, size: size, sha256: declared)
    let (store, key, uploadID, places) = (store, key, uploadID, places)
    let upload = Task {
      defer { places.give() }
      return try await store.uploadPart(key: key, uploadID: uploadID, part: part, growing: growing)
    }
    return ForwardedPart(growing: growing, upload: upload)
  }
}

/// A part being uploaded while it arrives. Its slot advances it after each write, and cancels it
/// when the bytes will not all come from the writer that started it.
struct ForwardedPart: Sendable {
  let growing: GrowingFile
  let upload: Task<String, any Error>

  /// The spool file holds the part's first `bytes` bytes.
  func advance(to bytes: Int64) { growing.advance(to: bytes) }

  /// Stops the upload; the store discards a part whose body never ended.
  func cancel() {
    upload.cancel()
    growing.abandon()
  }

  /// The part's ETag once the whole part is written, or nil when the upload failed (the part
  /// is then committed from the spool).
  func etag() async -> String? {
    try? await upload.value
  }
}

/// The places for forwarded parts, for the whole server.
final class ForwardingPlaces: Sendable {
  private let free: Mutex<Int>

  init(_ count: Int) {
    free = Mutex(count)
  }

  /// Takes a place if one is free.
  func take() -> Bool {
    free.withLock { free in
      guard free > 0 else { return false }
      free -= 1
      return true
    }
  }

  /// Gives a place back.
  func give() {
    free.withLock { $0 += 1 }
  }
}
