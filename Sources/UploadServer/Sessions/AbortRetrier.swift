import Logging
import UploadCore

/// Aborts the multipart uploads of sessions that were aborted, expired or given up
/// (`SessionRecord.abortPending`): at once when nudged, and again while the object store does
/// not answer, so nothing is left in the bucket once it is back. No caller waits for the store.
/// The pending aborts live in the session store, so they survive a restart and any server
/// sharing the store may finish them; each round takes its aborts in the store for a while, so
/// two servers do not abort the same upload at once.
final class AbortRetrier: Sendable {
  private let sessions: any SessionStore
  private let objects: any ObjectStore
  private let policy: RetryPolicy
  private let now: @Sendable () -> Int64
  private let logger: Logger
  /// Looks at the store every `idleInterval` when nothing is known to be pending.
  private let loop: WakeupLoop

  /// - Parameter policy: the waits between rounds while aborts keep failing.
  init(sessions: any SessionStore, objects: any ObjectStore, policy: RetryPolicy, idleInterval: Duration,
    now: @escaping @Sendable () -> Int64, logger: Logger)
  {
    self.now = now
    self.sessions = sessions
    self.objects = objects
    self.policy = policy
    self.logger = logger
    self.loop = WakeupLoop(interval: idleInterval)
  }

  /// Says that an abort was just recorded as pending: `run` tries it at once.
  func nudge() {
    loop.nudge()
  }

  /// Retries pending aborts until the task is cancelled: at once after a `nudge`, every
  /// `idleInterval` while none is known to fail, and backing off by `policy` while some do.
  func run() async {
    var failedRounds = 0
    await loop.run {
      let remaining = await retryPending()
      failedRounds = remaining == 0 ? 0 : failedRounds + 1
      return remaining == 0 ? .zero : policy.delay(after: failedRounds, unitRandom: 1)
    }
  }

  /// Tries every pending abort once; returns how many are still pending.
  private func retryPending() async -> Int {
    let time = now()
    // Longer than one abort takes (the object store's calls give up well within it); a node that
    // dies holding aborts delays them by at most this.
    let lease = time + 60 * 1000
    guard let pending = try? await sessions.takePendingAborts(now: time, leaseUntil: lease) else { return 1 }
    var remaining = 0
    for session in pending {
      do {
        if let uploadID = session.storageUploadID {
          try await objects.abortUpload(key: session.key, uploadID: uploadID)
        }
        try await sessions.finishAbort(session.id, done: true)
        logger.info(
          "multipart upload aborted",
          metadata: ["session": "\(session.id)", "key": "\(session.key)", "state": "\(session.state.rawValue)"])
      } catch {
        try? await sessions.finishAbort(session.id, done: false)
        remaining += 1
      }
    }
    return remaining
  }
}
