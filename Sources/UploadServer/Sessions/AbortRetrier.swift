import Logging
import UploadCore

/// Aborts the multipart uploads of sessions that were given up while the object store was
/// unreachable (`SessionRecord.abortPending`), so nothing is left in the bucket once the store
/// is back. The pending aborts live in the session store, so they survive a restart and any
/// server sharing the store may finish them.
final class AbortRetrier: Sendable {
  private let sessions: any SessionStore
  private let objects: any ObjectStore
  private let policy: RetryPolicy
  /// How often the store is looked at when nothing is known to be pending.
  private let idleInterval: Duration
  private let logger: Logger

  /// - Parameter policy: the waits between rounds while aborts keep failing.
  init(sessions: any SessionStore, objects: any ObjectStore, policy: RetryPolicy, idleInterval: Duration,
    logger: Logger)
  {
    self.sessions = sessions
    self.objects = objects
    self.policy = policy
    self.idleInterval = idleInterval
    self.logger = logger
  }

  /// Retries pending aborts until the task is cancelled: looks every `idleInterval` while
  /// none is pending, and backs off by `policy` while aborts keep failing.
  func run() async {
    var round = 0
    while !Task.isCancelled {
      let remaining = await retryPending()
      round = remaining == 0 ? 0 : round + 1
      do {
        try await Task.sleep(for: remaining == 0 ? idleInterval : policy.delay(after: round, unitRandom: 1))
      } catch {
        return
      }
    }
  }

  /// Tries every pending abort once; returns how many are still pending.
  private func retryPending() async -> Int {
    guard let pending = try? await sessions.sessionsWithPendingAborts() else { return 1 }
    var remaining = 0
    for var session in pending {
      do {
        if let uploadID = session.storageUploadID {
          try await objects.abortUpload(key: session.key, uploadID: uploadID)
        }
        session.abortPending = false
        try await sessions.update(session)
        logger.info(
          "aborted the multipart upload of a failed stream",
          metadata: ["session": "\(session.id)", "key": "\(session.key)"])
      } catch {
        remaining += 1
      }
    }
    return remaining
  }
}
