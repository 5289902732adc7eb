import Testing
import UploadCore

@Suite struct RetryPolicyTests {
  let policy = RetryPolicy(maximumAttempts: 4, baseDelay: .milliseconds(100), maximumDelay: .milliseconds(350))

  @Test func windowDoublesUntilTheCap() {
    #expect(policy.delay(after: 1, unitRandom: 1) == .milliseconds(100))
    #expect(policy.delay(after: 2, unitRandom: 1) == .milliseconds(200))
    #expect(policy.delay(after: 3, unitRandom: 1) == .milliseconds(350))
    #expect(policy.delay(after: 60, unitRandom: 1) == .milliseconds(350))
  }

  @Test func jitterScalesTheWindow() {
    #expect(policy.delay(after: 2, unitRandom: 0.5) == .milliseconds(100))
    #expect(policy.delay(after: 2, unitRandom: 0) == .zero)
    #expect(policy.delay(after: 2, unitRandom: 7) == .milliseconds(200))
  }

  @Test func countsEveryTry() {
    #expect(policy.allowsRetry(after: 3))
    #expect(!policy.allowsRetry(after: 4))
    #expect(!RetryPolicy.none.allowsRetry(after: 1))
  }
}
