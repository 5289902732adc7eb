/// A call's request messages, recording in an `IdleWatch` while the server waits for the next.
struct WatchedMessages<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Failure == any Error {
  typealias Element = Base.Element
  typealias Failure = any Error
  let base: Base
  let watch: IdleWatch

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: Base.AsyncIterator
    let watch: IdleWatch

    mutating func next() async throws -> Base.Element? {
      watch.beginWaiting()
      defer { watch.endWaiting() }
      return try await base.next()
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: base.makeAsyncIterator(), watch: watch)
  }
}
