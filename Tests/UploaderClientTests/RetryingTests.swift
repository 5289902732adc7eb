import GRPCCore
import Synchronization
import Testing
import UploadCore

@testable import UploaderClient

/// The retry loop's two regimes: a lost link (the transport's UNAVAILABLE after the server had
/// answered) is retried about every second for a time window, however many attempts that takes;
/// anything else transient is bounded by the policy's attempts.
@Suite struct RetryingTests {
  /// What the transport reports for a connection that broke or went silent: no error code of ours.
  let linkLost = RPCError(code: .unavailable, message: "channel closed")

  private func options(window: Duration) -> UploadEngine.Options {
    var options = UploadEngine.Options()
    options.retry = RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(4), maximumDelay: .milliseconds(8))
    options.reconnectWindow = window
    return options
  }

  private final class Log: Sendable {
    let retries = Mutex<[Duration]>([])
    let reconnections = Mutex(0)
    let attempts = Mutex(0)

    func record(_ event: UploadEngine.Event) {
      switch event {
      case .retrying(let delay, _, _): retries.withLock { $0.append(delay) }
      case .reconnected: reconnections.withLock { $0 += 1 }
      default: break
      }
    }

    func attempt() -> Int { attempts.withLock { $0 += 1; return $0 } }
  }

  private func run(
    _ options: UploadEngine.Options, log: Log, _ body: @escaping @Sendable (Contact, Int) throws -> Int
  ) async throws -> Int {
    try await retrying(
      options: options, onEvent: log.record, progress: { 0 },
      unreachable: { _ in ClientError("unreachable") }, exhausted: { _, _ in ClientError("exhausted") },
      permanent: { $0 }
    ) { contact in try body(contact, log.attempt()) }
  }

  @Test func aLostLinkIsRetriedPastTheAttemptLimitUntilTheServerAnswersAgain() async throws {
    let log = Log()
    let error = linkLost
    // The server answers, the link goes dark for four attempts, then the server answers again.
    let result = try await run(options(window: .seconds(60)), log: log) { contact, attempt in
      if attempt == 1 || attempt == 6 { contact.made() }
      if attempt < 6 { throw error }
      return attempt
    }
    #expect(result == 6)  // where the policy alone allows 2 attempts
    let retries = log.retries.withLock { $0 }
    #expect(retries.count == 5)
    #expect(retries.allSatisfy { $0 <= Contact.reconnectInterval })
    #expect(log.reconnections.withLock { $0 } == 1)
  }

  @Test func aLinkLostForLongerThanTheWindowGivesUp() async throws {
    let log = Log()
    let error = linkLost
    var options = options(window: .milliseconds(30))
    options.retry.maximumAttempts = 1_000_000  // so only the window can end it
    let stopped = await #expect(throws: ClientError.self) {
      try await run(options, log: log) { contact, attempt in
        if attempt == 1 { contact.made() }
        throw error
      }
    }
    #expect(stopped?.message == "exhausted")
    #expect(log.attempts.withLock { $0 } >= 2)
    #expect(log.reconnections.withLock { $0 } == 0)
  }

  @Test func theServersOwnUnavailableIsBoundedByTheAttempts() async throws {
    let log = Log()
    var metadata = Metadata()
    metadata.addString(UploadError.Code.storageUnavailable.rawValue, forKey: ErrorMetadata.code)
    let error = RPCError(code: .unavailable, message: "S3 is down", metadata: metadata)
    await #expect(throws: ClientError.self) {
      try await run(options(window: .seconds(60)), log: log) { contact, _ in
        contact.made()
        throw error
      }
    }
    #expect(log.attempts.withLock { $0 } == 2)
  }

  @Test func aServerThatNeverAnsweredIsNotALostLink() async throws {
    let log = Log()
    let error = linkLost
    var options = options(window: .seconds(60))
    options.firstContactAttempts = 3
    await #expect(throws: ClientError.self) {
      try await run(options, log: log) { _, _ in throw error }
    }
    #expect(log.attempts.withLock { $0 } == 2)  // the policy's bound comes first here
  }

  /// `--retry-for`: the server's own UNAVAILABLE is retried past the policy's 2 attempts while
  /// the window lasts, and given up once it has passed without progress.
  @Test func retryForReplacesTheAttemptLimitWithATime() async throws {
    let log = Log()
    let error = RPCError(code: .unavailable, message: "draining", metadata: ["uploader-error-code": "DRAINING"])
    var options = options(window: .seconds(60))
    options.retryFor = .seconds(60)
    let result = try await run(options, log: log) { contact, attempt in
      contact.made()
      if attempt < 5 { throw error }
      return attempt
    }
    #expect(result == 5)  // where the policy alone allows 2 attempts

    options.retryFor = .zero
    await #expect(throws: ClientError.self) {
      try await run(options, log: Log()) { contact, _ in
        contact.made()
        throw error
      }
    }
  }

  /// The failures of `UploadObject` that send the file as a session instead, and only those.
  @Test func aFileGoesAsASessionWhereTheServerCannotTakeItWhole() {
    func error(_ code: RPCError.Code, _ ours: UploadError.Code? = nil) -> RPCError {
      RPCError(code: code, message: "", metadata: ours.map { [ErrorMetadata.code: .string($0.rawValue)] } ?? [:])
    }
    #expect(UploadFailure.needsSession(error(.unimplemented)))
    #expect(UploadFailure.needsSession(error(.resourceExhausted)), "the transport's: over --max-message-size")
    #expect(UploadFailure.needsSession(error(.failedPrecondition, .sessionInProgress)))
    #expect(!UploadFailure.needsSession(error(.resourceExhausted, .spoolFull)))
    #expect(!UploadFailure.needsSession(error(.failedPrecondition, .idempotencyConflict)))
    #expect(!UploadFailure.needsSession(error(.dataLoss, .digestMismatch)))
    #expect(!UploadFailure.needsSession(error(.unavailable)))
  }
}
