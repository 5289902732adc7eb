import UploadCore

/// Where completion notifications go and how they are retried (`--notify-url`).
public struct NotificationSettings: Sendable {
  /// The receiver: every event is POSTed here as JSON.
  public var url: String
  /// The HMAC-SHA256 key that signs every body (`X-Uploader-Signature`).
  public var secret: String
  /// How long one delivery may take before it counts as failed.
  public var timeout: Duration = .seconds(10)
  /// The waits after failed deliveries of one event: it is tried until the receiver accepts it.
  public var retryPolicy = RetryPolicy(maximumAttempts: .max, baseDelay: .seconds(1), maximumDelay: .seconds(300))
  /// How often the outbox is looked at when no event was just queued (events of other replicas,
  /// retries that fell due).
  public var pollInterval: Duration = .seconds(1)

  public init(url: String, secret: String) {
    self.url = url
    self.secret = secret
  }

  /// Checks the URL and the secret.
  ///
  /// - Throws: `.invalidRequest` naming the flag.
  public func validate() throws(UploadError) {
    guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > "https://".count else {
      throw UploadError(.invalidRequest, "--notify-url \"\(url)\" is not an http:// or https:// URL")
    }
    guard !secret.isEmpty else {
      throw UploadError(
        .invalidRequest,
        "--notify-url needs --notify-secret (or UPLOADER_NOTIFY_SECRET): every event is signed so its receiver can trust it")
    }
  }
}
