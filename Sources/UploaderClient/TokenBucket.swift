/// A token bucket for `--limit-rate`: `rate` bytes per second, bursts up to one second's worth.
/// Pure: the caller passes the time, so tests drive it.
public struct TokenBucket: Hashable, Sendable {
  /// Bytes per second.
  public let rate: Int64
  private var tokens: Double
  private var updatedAt: Double

  /// A full bucket at time `now` (in seconds).
  public init(rate: Int64, now: Double) {
    precondition(rate > 0)
    self.rate = rate
    self.tokens = Double(rate)
    self.updatedAt = now
  }

  /// Takes `bytes` at time `now`; returns how long to wait before sending them (0 when the
  /// bucket had them). The debt is kept, so the average never exceeds the rate.
  public mutating func take(_ bytes: Int, now: Double) -> Double {
    tokens = min(Double(rate), tokens + (now - updatedAt) * Double(rate))
    updatedAt = now
    tokens -= Double(bytes)
    return tokens >= 0 ? 0 : -tokens / Double(rate)
  }
}
