import Crypto

/// The signature of a notification body: HMAC-SHA256 under the shared secret, sent as
/// `X-Uploader-Signature: sha256=<hex>`. A receiver recomputes it over the raw body it got and
/// compares in constant time; the body carries the event's id and time, so a replayed delivery
/// is a duplicate by id.
public enum NotificationSignature {
  /// The header's name.
  public static let headerName = "X-Uploader-Signature"

  /// `sha256=<hex HMAC-SHA256 of body under secret>`.
  public static func header(secret: String, body: [UInt8]) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
    return "sha256=" + Hex.encode(Array(code))
  }
}
