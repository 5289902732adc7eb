import Foundation
import GRPCCore
import Synchronization
import Testing
import UploadCore
import UploadProtocol

@testable import UploaderClient

/// How the batcher gathers objects into calls, over a call that the test holds and releases.
@Suite(.timeLimit(.minutes(1))) struct WholeObjectBatcherTests {
  /// Calls made so far (the keys of their objects), held until `release` lets them answer.
  final class Calls: Sendable {
    let made = Mutex<[[String]]>([])
    let places = Mutex<[Int]>([])
    let held = Mutex<[CheckedContinuation<Void, Never>]>([])
    let failure: @Sendable (Int) -> (any Error)?

    init(failure: @escaping @Sendable (Int) -> (any Error)? = { _ in nil }) {
      self.failure = failure
    }

    /// Call number n (from 1) fails with `failure(n)`, if any.
    func call(_ request: Uploader_V1_UploadObjectsRequest, _ place: Int) async throws -> Uploader_V1_UploadObjectsResponse {
      let count = made.withLock {
        $0.append(request.objects.map(\.session.key))
        return $0.count
      }
      places.withLock { $0.append(place) }
      await withCheckedContinuation { continuation in held.withLock { $0.append(continuation) } }
      if let error = failure(count) { throw error }
      return .with {
        $0.results = request.objects.map { object in
          object.session.key.hasPrefix("bad")
            ? .with { $0.error = .with { $0.status = 15; $0.code = "DIGEST_MISMATCH"; $0.message = "no" } }
            : .with { $0.session = .with { $0.key = object.session.key } }
        }
      }
    }

    /// Waits until `count` calls are held, then lets them answer.
    func release(whenHolding count: Int) async {
      while held.withLock({ $0.count }) < count { try? await Task.sleep(for: .milliseconds(1)) }
      for continuation in held.withLock({ held in defer { held = [] }; return held }) { continuation.resume() }
    }

    var holding: Int { held.withLock { $0.count } }
  }

  func request(_ key: String, bytes: Int = 10) -> Uploader_V1_UploadObjectRequest {
    .with {
      $0.session.key = key
      $0.data = Data(count: bytes)
    }
  }

  @Test func objectsWaitingWhileCallsTravelGoTogether() async throws {
    let calls = Calls()
    let batcher = WholeObjectBatcher(baseCalls: 1, maximumCalls: 1, maximumObjects: 64, maximumBytes: 1 << 20, fallbackBytes: 1 << 10) {
      try await calls.call($0, $1)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      let first = Task { try await batcher.submit(request("first")) }
      while calls.holding < 1 { try await Task.sleep(for: .milliseconds(1)) }
      // One call in flight, the most allowed: these wait for it, and then go in one call.
      let rest = (1...5).map { n in Task { try await batcher.submit(request(n == 3 ? "bad-\(n)" : "f\(n)")) } }
      while batcher.waitingCount < 5 { try await Task.sleep(for: .milliseconds(1)) }
      await calls.release(whenHolding: 1)
      await calls.release(whenHolding: 1)
      #expect(try await first.value.session.key == "first")
      let results = try await rest.asyncMap { try await $0.value }
      #expect(results.map(\.session.key) == ["f1", "f2", "", "f4", "f5"])
      #expect(results[2].error.rpcError.code == .dataLoss)
      #expect(results[2].error.rpcError.metadata[stringValues: ErrorMetadata.code].map { $0 } == ["DIGEST_MISMATCH"])
      // The five submit in any order; they go in one call.
      #expect(calls.made.withLock { $0 }.map { $0.sorted() } == [["first"], ["bad-3", "f1", "f2", "f4", "f5"]])
      group.cancelAll()
    }
  }

  @Test func aCallCarriesAtMostItsBytesAndObjects() async throws {
    let calls = Calls()
    let batcher = WholeObjectBatcher(baseCalls: 1, maximumCalls: 1, maximumObjects: 3, maximumBytes: 100, fallbackBytes: 10) {
      try await calls.call($0, $1)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      let first = Task { try await batcher.submit(request("big", bytes: 500)) }  // alone, over the bytes
      while calls.holding < 1 { try await Task.sleep(for: .milliseconds(1)) }
      let rest = ["a", "b", "c", "d"].map { key in Task { try await batcher.submit(request(key, bytes: 40)) } }
      while batcher.waitingCount < 4 { try await Task.sleep(for: .milliseconds(1)) }
      for _ in 0..<3 { await calls.release(whenHolding: 1) }
      _ = try await first.value
      for task in rest { _ = try await task.value }
      #expect(calls.made.withLock { $0 }.map(\.count) == [1, 2, 2])
      #expect(calls.made.withLock { $0 }.first == ["big"])
      group.cancelAll()
    }
  }

  /// Calls in flight at once have places of their own (their connections), and a place is
  /// used again once its call has answered.
  @Test func callsInFlightHavePlacesOfTheirOwn() async throws {
    let calls = Calls()
    let batcher = WholeObjectBatcher(baseCalls: 3, maximumCalls: 3, maximumObjects: 1, maximumBytes: 1 << 20, fallbackBytes: 1 << 10) {
      try await calls.call($0, $1)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      let tasks = (0..<5).map { n in Task { try await batcher.submit(request("f\(n)")) } }
      await calls.release(whenHolding: 3)
      await calls.release(whenHolding: 2)
      for task in tasks { _ = try await task.value }
      let places = calls.places.withLock { $0 }
      #expect(Set(places.prefix(3)) == [0, 1, 2])
      #expect(places.count == 5 && places.allSatisfy { (0..<3).contains($0) })
      group.cancelAll()
    }
  }

  /// Objects waiting while several calls may go are shared among them.
  @Test func waitingObjectsAreSharedAmongTheCallsThatMayGo() async throws {
    let calls = Calls()
    let batcher = WholeObjectBatcher(baseCalls: 3, maximumCalls: 3, maximumObjects: 64, maximumBytes: 1 << 20, fallbackBytes: 1 << 10) {
      try await calls.call($0, $1)
    }
    let tasks = (0..<7).map { n in Task { try await batcher.submit(request("f\(n)")) } }
    while batcher.waitingCount < 7 { try await Task.sleep(for: .milliseconds(1)) }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      await calls.release(whenHolding: 3)
      for task in tasks { _ = try await task.value }
      #expect(calls.made.withLock { $0 }.map(\.count) == [3, 2, 2])
      group.cancelAll()
    }
  }

  /// A short round trip keeps the limit at its base; a long one (a long link) raises it to the
  /// maximum, and a short one brings it back. The round trip is asked for once a second at most.
  @Test func aLongRoundTripRaisesTheLimitAndAShortOneLowersIt() async throws {
    let clock = Mutex(ContinuousClock.now)
    let path = Mutex<Duration?>(.milliseconds(40))
    let asked = Mutex(0)
    let calls = Calls()
    let batcher = WholeObjectBatcher(
      baseCalls: 1, maximumCalls: 3, longRoundTrip: .milliseconds(5), maximumObjects: 1, maximumBytes: 1 << 20,
      fallbackBytes: 1 << 10,
      roundTrip: {
        asked.withLock { $0 += 1 }
        return path.withLock { $0 }
      }, now: { clock.withLock { $0 } }
    ) { try await calls.call($0, $1) }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      #expect(batcher.limit == 1)
      let first = Task { try await batcher.submit(request("first")) }
      await calls.release(whenHolding: 1)
      _ = try await first.value
      #expect(batcher.limit == 3)
      // Three at once now.
      let three = (0..<3).map { n in Task { try await batcher.submit(request("f\(n)")) } }
      await calls.release(whenHolding: 3)
      for task in three { _ = try await task.value }
      #expect(asked.withLock { $0 } == 1, "asked again within the second")

      path.withLock { $0 = .microseconds(60) }
      clock.withLock { $0 += .seconds(1) }
      let quick = Task { try await batcher.submit(request("quick")) }
      await calls.release(whenHolding: 1)
      _ = try await quick.value
      #expect(batcher.limit == 1)
      group.cancelAll()
    }
  }

  /// A call the transport drops hands each object the error, and calls shrink to the fallback.
  @Test func aDroppedLargeCallMakesLaterCallsSmall() async throws {
    let calls = Calls { $0 == 1 ? RPCError(code: .unavailable, message: "dropped") : nil }
    let batcher = WholeObjectBatcher(baseCalls: 1, maximumCalls: 1, maximumObjects: 64, maximumBytes: 1_000, fallbackBytes: 50) {
      try await calls.call($0, $1)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await batcher.run() }
      let dropped = Task { try await batcher.submit(request("large", bytes: 60)) }
      await calls.release(whenHolding: 1)
      let error = await #expect(throws: RPCError.self) { try await dropped.value }
      #expect(error?.code == .unavailable)
      #expect(batcher.maximumBytes == 50)
      group.cancelAll()
    }
  }

  @Test func objectsLeftWaitingWhenItStopsAreCancelled() async throws {
    let calls = Calls()
    let batcher = WholeObjectBatcher(baseCalls: 1, maximumCalls: 1, maximumObjects: 64, maximumBytes: 1 << 20, fallbackBytes: 1 << 10) {
      try await calls.call($0, $1)
    }
    let runner = Task { await batcher.run() }
    let first = Task { try await batcher.submit(request("first")) }
    while calls.holding < 1 { try await Task.sleep(for: .milliseconds(1)) }
    let waiting = Task { try await batcher.submit(request("second")) }
    while batcher.waitingCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
    runner.cancel()
    await #expect(throws: CancellationError.self) { try await waiting.value }
    await calls.release(whenHolding: 1)
    _ = try? await first.value
    await runner.value
    await #expect(throws: CancellationError.self) { try await batcher.submit(request("late")) }
  }
}

extension Array {
  func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
    var results: [T] = []
    for element in self { results.append(try await transform(element)) }
    return results
  }
}
