import Synchronization
import Testing

@testable import UploaderClient

@Suite(.timeLimit(.minutes(1))) struct ProgressTests {
  final class Events: Sendable {
    let done = Mutex<[Int64]>([])
  }

  @Test func sumsThePartsAndNeverGoesBackwards() {
    let events = Events()
    let progress = Progress(total: 30) { event in
      if case .progress(let done, _) = event { events.done.withLock { $0.append(done) } }
    }
    progress.set(part: 1, 10)
    progress.set(part: 2, 5)
    progress.set(part: 1, 4)  // a late, smaller acknowledgement
    #expect(events.done.withLock { $0 } == [10, 15, 15])
  }

  @Test func allAcknowledgedReturnsOnceEveryByteIs() async {
    let progress = Progress(total: 20) { _ in }
    let waiter = Task { await progress.allAcknowledged() }
    while progress.waiting == 0 { await Task.yield() }
    progress.set(part: 1, 10)
    #expect(progress.waiting == 1, "10 of 20 bytes released the waiter")
    progress.set(part: 2, 10)
    #expect(progress.waiting == 0)
    await waiter.value
    // Settled: a later wait returns at once.
    await progress.allAcknowledged()
  }

  @Test func settleReleasesWaitersShortOfTheTotal() async {
    let progress = Progress(total: 20) { _ in }
    progress.set(part: 1, 10)
    let waiter = Task { await progress.allAcknowledged() }
    while progress.waiting == 0 { await Task.yield() }
    progress.settle()
    #expect(progress.waiting == 0)
    await waiter.value
  }
}
