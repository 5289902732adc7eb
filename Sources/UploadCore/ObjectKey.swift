/// An object key that is safe to use both as an S3 key and as a path under the local store.
///
/// Rules: non-empty, at most 1024 UTF-8 bytes, no leading `/`, no `.` or `..` segment,
/// no empty segment (`a//b`), and no control characters (which includes NUL).
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
  /// The largest key S3 accepts, in UTF-8 bytes.
  public static let maxUTF8Length = 1024

  /// The validated key.
  public let rawValue: String

  /// Validates `rawValue` as an object key.
  ///
  /// - Throws: `UploadError` with code `.invalidKey` and a message that says which rule failed.
  public init(validating rawValue: String) throws(UploadError) {
    if let problem = Self.problem(with: rawValue) {
      throw UploadError(.invalidKey, "invalid object key \(Self.quoted(rawValue)): \(problem)")
    }
    self.rawValue = rawValue
  }

  public var description: String { rawValue }

  /// The key's `/`-separated segments. Split on the byte `/`, not on characters: a combining mark
  /// after `/` joins it into one Swift `Character`, but the file system still sees a separator.
  public var segments: [String] { Self.segments(of: rawValue) }

  private static func segments(of key: String) -> [String] {
    key.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
  }

  private static func problem(with key: String) -> String? {
    if key.isEmpty { return "the key is empty" }
    let length = key.utf8.count
    if length > maxUTF8Length {
      return "the key is \(length) bytes long, the limit is \(maxUTF8Length) UTF-8 bytes"
    }
    if key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
      return "the key contains a control character (NUL, newline, ...)"
    }
    if key.utf8.first == UInt8(ascii: "/") { return "the key starts with '/'" }
    for segment in segments(of: key) {
      switch segment {
      case "..": return "the key has a '..' segment"
      case ".": return "the key has a '.' segment"
      case "": return "the key has an empty segment ('//' or a trailing '/')"
      default: continue
      }
    }
    return nil
  }

  /// A printable, bounded rendering of an untrusted key for error messages.
  private static func quoted(_ key: String) -> String {
    let escaped = key.unicodeScalars.prefix(64).map { $0.escaped(asASCII: false) }.joined()
    return "\"\(escaped)\(key.unicodeScalars.count > 64 ? "..." : "")\""
  }
}
