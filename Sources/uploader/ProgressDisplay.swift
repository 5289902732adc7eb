import Foundation
import Synchronization

/// Redraws one status line on stderr, at most ten times a second; does nothing when disabled.
final class ProgressDisplay: Sendable {
  private let enabled: Bool
  private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

  init(enabled: Bool) {
    self.enabled = enabled
  }

  func show(_ line: String, force: Bool = false) {
    guard enabled else { return }
    let now = ContinuousClock.now
    let draw = lastDraw.withLock { last in
      if !force, let previous = last, previous.duration(to: now) < .milliseconds(100) { return false }
      last = now
      return true
    }
    if draw { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
  }

  /// Ends the line, so what follows starts on a fresh one.
  func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
  }
}
