import Synchronization

/// A value behind a lock, shared by copies of the struct that holds it.
final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: Value) {
    mutex = Mutex(value)
  }

  func withLock<T: Sendable>(_ body: (inout sending Value) -> T) -> T {
    mutex.withLock { body(&$0) }
  }
}
