import Synchronization
import Testing

@testable import UploadServer

/// The loop behind abort retries and notification delivery. Every wait here is for an event, with
/// the suite's time limit as the only clock: a round that never comes fails the test.
@Suite(.timeLimit(.minutes(1))) struct WakeupLoopTests {
  /// Runs `loop` in a task, reporting each round's number to the returned stream; each round
  /// asks for `wait`.
  func start(_ loop: WakeupLoop, wait: Duration) -> (Task<Void, Never>, AsyncStream<Int>) {
    let (rounds, report) = AsyncStream.makeStream(of: Int.self)
    let task = Task {
      var count = 0
      await loop.run {
        count += 1
        report.yield(count)
        return wait
      }
      report.finish()
    }
    return (task, rounds)
  }

  @Test func aNudgeRunsARoundAtOnceEvenWhileTheLastOneAskedToWait() async {
    // Ticks an hour apart and rounds asking for another hour: only nudges can run them.
    let loop = WakeupLoop(interval: .seconds(3600))
    let (task, rounds) = start(loop, wait: .seconds(3600))
    var iterator = rounds.makeAsyncIterator()
    loop.nudge()
    #expect(await iterator.next() == 1)
    loop.nudge()
    #expect(await iterator.next() == 2)
    task.cancel()
    await task.value
    // Cancelled, the loop ends and runs no further round.
    #expect(await iterator.next() == nil)
  }

  @Test func ticksWaitWhatTheLastRoundAskedFor() async throws {
    // Ticks every millisecond, but each round asks for an hour: after the nudged round, the
    // ticks that come meanwhile run none.
    let loop = WakeupLoop(interval: .milliseconds(1))
    let count = Atomic<Int>(0)
    let task = Task {
      await loop.run {
        count.add(1, ordering: .relaxed)
        return .seconds(3600)
      }
    }
    loop.nudge()
    while count.load(ordering: .relaxed) == 0 { await Task.yield() }
    try await Task.sleep(for: .milliseconds(50))
    #expect(count.load(ordering: .relaxed) == 1)
    task.cancel()
    await task.value
  }

  @Test func ticksRunRoundsWithoutANudge() async {
    let loop = WakeupLoop(interval: .milliseconds(5))
    let (task, rounds) = start(loop, wait: .zero)
    var iterator = rounds.makeAsyncIterator()
    #expect(await iterator.next() == 1)
    #expect(await iterator.next() == 2)
    task.cancel()
    await task.value
  }
}
