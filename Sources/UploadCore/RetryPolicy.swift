/// Exponential backoff with full jitter: attempt `n` waits a random time in
/// `0...min(maximumDelay, baseDelay * 2^n)`.
///
/// Pure: the random source is a parameter so tests control it.
public struct RetryPolicy: Hashable, Sendable {
  /// How many times an operation is tried in all, including the first try.
  public var maximumAttempts: Int
  /// The delay cap of the first retry.
  public var baseDelay: Duration
  /// The largest delay between two tries.
  public var maximumDelay: Duration

  /// Creates a policy.
  public init(maximumAttempts: Int, baseDelay: Duration, maximumDelay: Duration) {
    precondition(maximumAttempts >= 1)
    self.maximumAttempts = maximumAttempts
    self.baseDelay = baseDelay
    self.maximumDelay = maximumDelay
  }

  /// The default for object-store calls: 6 tries over about 10 s at worst.
  public static let standard = RetryPolicy(
    maximumAttempts: 6, baseDelay: .milliseconds(200), maximumDelay: .seconds(4))

  /// No retries.
  public static let none = RetryPolicy(maximumAttempts: 1, baseDelay: .zero, maximumDelay: .zero)

  /// Whether a try that failed after `attempt` tries (counting from 1) may be followed by another.
  public func allowsRetry(after attempt: Int) -> Bool { attempt < maximumAttempts }

  /// The wait before the try following failed try `attempt` (counting from 1).
  ///
  /// - Parameter unitRandom: a value in `0...1`; `1` gives the cap of the window.
  public func delay(after attempt: Int, unitRandom: Double) -> Duration {
    let exponent = min(max(attempt - 1, 0), 30)
    let window = min(baseDelay * (1 << exponent), maximumDelay)
    return window * min(max(unitRandom, 0), 1)
  }
}
