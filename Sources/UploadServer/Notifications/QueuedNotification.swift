import UploadCore

/// An event in the notification outbox: a session reached `type` (completed, aborted or
/// expired) at `occurredAt`, and the receiver has not accepted it yet.
public struct QueuedNotification: Hashable, Sendable {
  /// The idempotency id, the same on every delivery (`NotificationOutbox.eventID`).
  public var id: String
  /// The session it is about.
  public var sessionID: SessionID
  /// The state the session reached: completed, aborted or expired.
  public var type: SessionState
  /// Milliseconds since the Unix epoch.
  public var occurredAt: Int64
  /// Deliveries tried so far.
  public var attempts: Int

  /// An event as the outbox holds it.
  public init(id: String, sessionID: SessionID, type: SessionState, occurredAt: Int64, attempts: Int) {
    self.id = id
    self.sessionID = sessionID
    self.type = type
    self.occurredAt = occurredAt
    self.attempts = attempts
  }
}

/// How events are named in the outbox.
public enum NotificationOutbox {
  /// The idempotency id of the event of `session` reaching `state`: `<session id>.<state>`.
  /// A session reaches each final state at most once, so the id names one event.
  public static func eventID(_ session: SessionID, _ state: SessionState) -> String {
    "\(session.rawValue).\(state.rawValue)"
  }
}
