import AsyncHTTPClient
import Logging
import NIOCore
import UploadCore

/// Delivers the notification outbox to `--notify-url`, at least once: an event leaves the
/// outbox only when the receiver answered 2xx, failed deliveries are tried again with backoff
/// until it does, and the outbox is in the session database, so events survive restarts and
/// any replica may deliver them (each takes its events for a while, so two do not send one at
/// once; a replica dying mid-delivery means a duplicate later, with the same id).
public final class Notifier: Sendable {
  /// Sends one body with its headers; throws unless the receiver accepted it.
  public typealias Deliver = @Sendable (_ body: [UInt8], _ headers: [(String, String)]) async throws -> Void

  private let sessions: any SessionStore
  private let settings: NotificationSettings
  private let deliver: Deliver
  private let metrics: ServerMetrics
  private let now: @Sendable () -> Int64
  private let unitRandom: @Sendable () -> Double
  private let logger: Logger
  private let loop: WakeupLoop

  /// A notifier over the outbox in `sessions`, sending with `deliver` (`Notifier.http` in the
  /// server; tests pass their own).
  public init(
    sessions: any SessionStore, settings: NotificationSettings, deliver: @escaping Deliver, metrics: ServerMetrics,
    now: @escaping @Sendable () -> Int64, unitRandom: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) },
    logger: Logger
  ) {
    self.sessions = sessions
    self.settings = settings
    self.deliver = deliver
    self.metrics = metrics
    self.now = now
    self.unitRandom = unitRandom
    self.logger = logger
    self.loop = WakeupLoop(interval: settings.pollInterval)
  }

  /// Says that an event was just queued: `run` delivers it at once.
  public func nudge() {
    loop.nudge()
  }

  /// Delivers until the task is cancelled: at once after a `nudge`, and every `pollInterval`.
  /// Each event's own backoff is its `next_attempt_at` in the outbox, so the loop never waits.
  public func run() async {
    await loop.run {
      await deliverDue()
      return .zero
    }
  }

  /// Tries every event that is due, once, oldest first.
  public func deliverDue() async {
    while !Task.isCancelled {
      let time = now()
      let lease = time + Int64(settings.timeout.components.seconds + 30) * 1000
      guard let due = try? await sessions.takeDueNotifications(now: time, leaseUntil: lease, limit: 16), !due.isEmpty
      else { break }
      for notification in due { await deliver(notification) }
    }
    if let queued = try? await sessions.queuedNotificationCount() { metrics.notificationsQueued.set(queued) }
  }

  private func deliver(_ notification: QueuedNotification) async {
    do {
      guard let session = try await sessions.session(notification.sessionID) else {
        // Its session is gone (deleted by hand): nothing left to say.
        try await sessions.finishNotification(notification.id, delivered: true, retryAt: 0, error: nil)
        return
      }
      let body = NotificationEvent.body(notification, session: session)
      try await deliver(
        body,
        [
          ("Content-Type", "application/json"), ("User-Agent", "uploader-server"),
          ("X-Uploader-Event-Id", notification.id),
          (NotificationSignature.headerName, NotificationSignature.header(secret: settings.secret, body: body)),
        ])
      try await sessions.finishNotification(notification.id, delivered: true, retryAt: 0, error: nil)
      metrics.notificationsDelivered.increment()
      logger.info("notification delivered", metadata: ["event": "\(notification.id)"])
    } catch {
      let attempt = notification.attempts + 1
      let delay = settings.retryPolicy.delay(after: attempt, unitRandom: unitRandom()).components
      let retryAt = now() + delay.seconds * 1000 + delay.attoseconds / 1_000_000_000_000_000
      metrics.notificationDeliveriesFailed.increment()
      logger.warning(
        "notification not delivered; it stays queued",
        metadata: ["event": "\(notification.id)", "attempt": "\(attempt)", "error": "\(error)"])
      try? await sessions.finishNotification(notification.id, delivered: false, retryAt: retryAt, error: "\(error)")
    }
  }

  /// A refusal by the receiver.
  struct Refused: Error, CustomStringConvertible {
    let status: UInt
    var description: String { "the receiver answered HTTP \(status)" }
  }

  /// Delivery by HTTP POST with `client`; 2xx is accepted, anything else refused.
  public static func http(_ client: HTTPClient, url: String, timeout: Duration) -> Deliver {
    { body, headers in
      var request = HTTPClientRequest(url: url)
      request.method = .POST
      for (name, value) in headers { request.headers.add(name: name, value: value) }
      request.body = .bytes(ByteBuffer(bytes: body))
      let response = try await client.execute(request, timeout: .seconds(timeout.components.seconds))
      _ = try? await response.body.collect(upTo: 64 << 10)
      guard (200..<300).contains(response.status.code) else { throw Refused(status: response.status.code) }
    }
  }
}
