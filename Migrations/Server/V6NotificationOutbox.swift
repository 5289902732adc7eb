/// The outbox of completion notifications (`uploader-server --notify-url`): one row per event
/// still to deliver, inserted in the same transaction that moves its session to completed,
/// aborted or expired, so an event survives any crash once the state does; deleted once the
/// receiver accepts it.
///
/// - `id` is the event's idempotency id (`<session id>.<type>`): every delivery of one event
///   carries it, so a receiver can drop duplicates.
/// - `next_attempt_at` is when to try next (backoff after failures); `lease_until` the time until
///   which one node has taken it, so that two replicas do not deliver it at once.
enum V6NotificationOutbox {
  static let identifier = "v6-notification-outbox"

  static let sql = """
    CREATE TABLE notifications (
      id TEXT PRIMARY KEY NOT NULL,
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      type TEXT NOT NULL,
      occurred_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      lease_until INTEGER NOT NULL DEFAULT 0,
      last_error TEXT
    );
    CREATE INDEX notifications_due ON notifications(next_attempt_at);
    """
}
