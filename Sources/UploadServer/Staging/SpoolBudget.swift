import Synchronization
import UploadCore

/// Keeps the spool under `--spool-limit` by admission: a part may start (or resume) being
/// written only if the spool's measured size, plus the room reserved for the parts being written,
/// plus the bytes this part still needs, fits. Admitted parts always finish, so a full spool
/// never deadlocks: it refuses new parts until received parts reach the object store and leave.
/// The size is measured every few seconds (freed space counts at the next measurement).
final class SpoolBudget: Sendable {
  let limit: Int64
  private let state = Mutex<(measured: Int64, reserved: [String: Int64])>((0, [:]))

  init(limit: Int64) {
    self.limit = limit
  }

  /// Admits the writer `key`, which needs `bytes` more bytes. Admitting an admitted key again
  /// succeeds.
  ///
  /// - Throws: `.spoolFull` when they do not fit; nothing is reserved then.
  func admit(_ key: String, bytes: Int64) throws(UploadError) {
    guard limit < .max else { return }
    let used: Int64? = state.withLock { state in
      guard state.reserved[key] == nil else { return nil }
      let used = state.measured + state.reserved.values.reduce(0, +)
      guard used + bytes <= limit else { return used }
      state.reserved[key] = bytes
      return nil
    }
    if let used {
      throw UploadError(
        .spoolFull,
        "the server's staging area is full (\(used) of \(limit) bytes in use or reserved); nothing received is lost, try again shortly")
    }
  }

  /// The writer `key` is done (its part received, or it stopped).
  func release(_ key: String) {
    _ = state.withLock { $0.reserved.removeValue(forKey: key) }
  }

  /// Records a fresh measurement of the spool's size.
  func measured(_ size: Int64) {
    state.withLock { $0.measured = size }
  }
}
