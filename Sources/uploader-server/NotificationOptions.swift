import ArgumentParser
import UploadServer

/// Where completion notifications go.
struct NotificationOptions: ParsableArguments {
  @Option(help: ArgumentHelp("""
    POST a JSON event here when a session is completed, aborted or expired: id (the same on \
    every delivery of one event), type, session id, owner, key, size, sha256, etag and time, \
    signed with --notify-secret. Delivered at least once: the events wait in the session \
    database until the receiver answers 2xx, and are retried with backoff (1s up to 5m), also \
    across restarts. (default: no notifications)
    """, valueName: "url"))
  var notifyURL: String?

  @Option(help: ArgumentHelp("""
    The key of the HMAC-SHA256 in each event's X-Uploader-Signature header (sha256=HEX of the \
    body); required with --notify-url. Prefer UPLOADER_NOTIFY_SECRET, which ps does not show.
    """, valueName: "secret"))
  var notifySecret: String?

  /// The settings these options describe, or nil without `--notify-url`.
  var settings: NotificationSettings? {
    notifyURL.map { NotificationSettings(url: $0, secret: notifySecret ?? "") }
  }

  func validate() throws {
    if notifySecret != nil, notifyURL == nil { throw ValidationError("--notify-secret needs --notify-url") }
    do {
      try settings?.validate()
    } catch {
      throw ValidationError(error.message)
    }
  }
}
