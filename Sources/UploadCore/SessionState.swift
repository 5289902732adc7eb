/// The life of a session. `completed`, `aborted` and `expired` are final.
public enum SessionState: String, Sendable, Hashable, CaseIterable {
  /// Accepting parts.
  case open
  /// CompleteSession is assembling the object.
  case completing
  case completed
  case aborted
  /// Idle past the session TTL; its data was discarded.
  case expired

  /// Whether the session can move to `next`.
  public func canMove(to next: SessionState) -> Bool {
    switch (self, next) {
    case (.open, .completing), (.open, .aborted), (.open, .expired): true
    // A failed completion leaves the session completing; it may be retried, aborted or expire.
    case (.completing, .completed), (.completing, .open), (.completing, .aborted), (.completing, .expired): true
    default: false
    }
  }

  /// Whether nothing can happen to the session any more.
  public var isFinal: Bool { self == .completed || self == .aborted || self == .expired }

  /// Whether parts may be written.
  public var acceptsParts: Bool { self == .open }
}

/// The life of a part: bytes arrive (`receiving`), all arrived and matched their digest
/// (`received`), the object store has them (`committed`).
public enum PartState: String, Sendable, Hashable, CaseIterable {
  case receiving
  case received
  case committed
}
