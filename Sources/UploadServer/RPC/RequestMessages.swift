import UploadCore

/// A call's request messages whose read failures are already `UploadError`s
/// (`UploadError.fromRequestStream`), so the engine below sees domain errors only.
struct RequestMessages<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable {
  typealias Element = Base.Element
  let base: Base

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: Base.AsyncIterator

    mutating func next() async throws -> Base.Element? {
      do {
        return try await base.next()
      } catch {
        throw UploadError.fromRequestStream(error)
      }
    }
  }

  func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}
