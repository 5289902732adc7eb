import Testing
import UploaderClient

@Suite struct TokenBucketTests {
  @Test func aFullBucketLetsOneSecondThrough() {
    var bucket = TokenBucket(rate: 1_000, now: 0)
    #expect(bucket.take(600, now: 0) == 0)
    #expect(bucket.take(400, now: 0) == 0)
    #expect(bucket.take(500, now: 0) == 0.5)
  }

  @Test func refillsWithTimeButNeverPastOneSecond() {
    var bucket = TokenBucket(rate: 1_000, now: 0)
    _ = bucket.take(1_000, now: 0)
    #expect(bucket.take(250, now: 0.25) == 0)
    #expect(bucket.take(1_000, now: 100) == 0)
    #expect(bucket.take(1, now: 100) > 0)
  }

  @Test func theAverageNeverExceedsTheRate() {
    var bucket = TokenBucket(rate: 1 << 20, now: 0)
    var now = 0.0
    for _ in 0..<100 { now += bucket.take(256 << 10, now: now) }
    // 25 MiB at 1 MiB/s after a 1 MiB burst: 24 s.
    #expect(abs(now - 24) < 0.01)
  }
}
