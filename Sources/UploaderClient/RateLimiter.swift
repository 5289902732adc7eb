import Synchronization
import UploadCore

/// Shares one `TokenBucket` between the part streams of an upload.
public final class RateLimiter: Sendable {
  private let bucket: Mutex<TokenBucket>
  private let clock = ContinuousClock()
  private let start: ContinuousClock.Instant

  /// A limiter at `bytesPerSecond`.
  public init(bytesPerSecond: Int64) {
    start = clock.now
    bucket = Mutex(TokenBucket(rate: bytesPerSecond, now: 0))
  }

  /// Waits until `bytes` may be sent.
  public func acquire(_ bytes: Int) async throws {
    let elapsed = start.duration(to: clock.now)
    let now = elapsed.inSeconds
    let wait = bucket.withLock { $0.take(bytes, now: now) }
    if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
  }
}
