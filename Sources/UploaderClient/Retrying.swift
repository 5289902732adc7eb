/// The retry loop of both engines: runs `body` until it succeeds. A transient failure waits
/// (backoff with jitter, announced as `.retrying`) and tries again; attempts are counted since
/// the last progress. A permanent failure ends the loop with what `permanent` makes of it.
///
/// - Parameters:
///   - progress: the bytes the server has acknowledged so far.
///   - unreachable: the error for a server that never answered in `firstContactAttempts` tries.
///   - exhausted: the error once `retry` allows no more attempts, given the count and the reason.
func retrying<T: Sendable>(
  options: UploadEngine.Options, onEvent: @Sendable (UploadEngine.Event) -> Void,
  progress: () async throws -> Int64,
  unreachable: (Int) -> ClientError,
  exhausted: (Int, String) -> ClientError,
  permanent: (any Error) async throws -> any Error,
  _ body: (Contact) async throws -> T
) async throws -> T {
  let contact = Contact()
  var attempt = 0
  var lastDone: Int64 = -1
  while true {
    do {
      return try await body(contact)
    } catch {
      if Task.isCancelled { throw CancellationError() }
      guard let reason = UploadEngine.transientReason(error) else { throw try await permanent(error) }
      let done = try await progress()
      if done > lastDone { attempt = 0 }
      lastDone = done
      attempt += 1
      if !contact.isMade, UploadEngine.isUnreachable(error), attempt >= options.firstContactAttempts {
        throw unreachable(attempt)
      }
      guard options.retry.allowsRetry(after: attempt) else { throw exhausted(attempt, reason) }
      let delay = options.retry.delay(after: attempt, unitRandom: Double.random(in: 0.5...1))
      onEvent(.retrying(after: delay, attempt: attempt, reason: reason))
      try await Task.sleep(for: delay)
    }
  }
}
