/// A session id: 128 random bits as 32 lowercase hex digits.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
  /// The 32 hex digits.
  public let rawValue: String

  /// A fresh id from `generator`, which tests may seed.
  public static func random(using generator: inout some RandomNumberGenerator) -> SessionID {
    let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    return SessionID(unchecked: Hex.encode(bytes))
  }

  /// Parses a client-supplied id.
  ///
  /// - Throws: `UploadError` `.sessionNotFound`: a malformed id names no session.
  public init(validating text: String) throws(UploadError) {
    guard text.utf8.count == 32, text.utf8.allSatisfy({ Self.isHexDigit($0) }) else {
      throw UploadError(.sessionNotFound, "no session \"\(text.prefix(64))\": a session id is 32 lowercase hex digits")
    }
    self.rawValue = text
  }

  /// Wraps an id read from storage.
  public init(unchecked rawValue: String) {
    self.rawValue = rawValue
  }

  public var description: String { rawValue }

  private static func isHexDigit(_ c: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
  }
}
