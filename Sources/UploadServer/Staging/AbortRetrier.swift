import Logging
import Synchronization
import UploadCore

/// Keeps trying to abort multipart uploads whose abort failed, typically because the object
/// store was unreachable when the stream failed, so nothing is left in the bucket once the
/// store is back. Runs in the server's task group until the server stops; what is still pending
/// then is logged with its upload id.
final class AbortRetrier: Sendable {
  private struct Pending: Sendable {
    var key: ObjectKey
    var uploadID: String
  }

  private let store: any ObjectStore
  private let policy: RetryPolicy
  private let logger: Logger
  private let pending = Mutex<[Pending]>([])
  private let signal: AsyncStream<Void>.Continuation
  private let signals: AsyncStream<Void>

  /// - Parameter policy: the waits between rounds; it retries until the abort succeeds.
  init(store: any ObjectStore, policy: RetryPolicy, logger: Logger) {
    self.store = store
    self.policy = policy
    self.logger = logger
    (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  /// Queues an upload whose abort failed.
  func add(key: ObjectKey, uploadID: String) {
    pending.withLock { $0.append(Pending(key: key, uploadID: uploadID)) }
    signal.yield()
  }

  /// Retries queued aborts until the task is cancelled.
  func run() async {
    var waits = signals.makeAsyncIterator()
    var round = 0
    while !Task.isCancelled {
      let batch = pending.withLock { items in
        defer { items.removeAll() }
        return items
      }
      if batch.isEmpty {
        round = 0
        guard await waits.next() != nil else { break }
        continue
      }
      round += 1
      do {
        try await Task.sleep(for: policy.delay(after: round, unitRandom: 1))
      } catch {
        pending.withLock { $0.append(contentsOf: batch) }
        break
      }
      for item in batch {
        do {
          try await store.abortUpload(key: item.key, uploadID: item.uploadID)
          logger.info(
            "aborted the multipart upload of a failed stream",
            metadata: ["key": "\(item.key)", "upload_id": "\(item.uploadID)"])
        } catch {
          pending.withLock { $0.append(item) }
        }
      }
    }
    for item in pending.withLock({ $0 }) {
      logger.error(
        "a multipart upload is left in the store; abort it by hand or let the bucket's lifecycle rule do it",
        metadata: ["key": "\(item.key)", "upload_id": "\(item.uploadID)"])
    }
  }
}
