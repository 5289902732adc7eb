import Synchronization

/// The largest file the server has not been found to refuse whole (`UploadObject`), for every
/// upload that shares the options: no bound until it answers that it has no such call
/// (`withdraw`), or drops a whole object larger than a chunk (`lower(to:)`, a server whose
/// --max-message-size is below the file).
public final class WholeObjectOffer: Sendable {
  private let ceiling = Mutex<Int64>(.max)

  /// Offered, with no bound of its own.
  public init() {}

  /// Whether a file of `size` bytes may go whole.
  func admits(_ size: Int64) -> Bool { ceiling.withLock { size <= $0 } }

  /// No file goes whole from now on.
  func withdraw() { ceiling.withLock { $0 = -1 } }

  /// Files larger than `size` no longer go whole.
  func lower(to size: Int64) { ceiling.withLock { $0 = min($0, size) } }
}
