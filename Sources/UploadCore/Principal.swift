/// Who is calling: the name an access token maps to, or the anonymous principal when the server
/// runs without tokens. Sessions belong to the principal that created them.
public struct Principal: Hashable, Sendable, CustomStringConvertible {
  /// The name, as written in the tokens file; empty for the anonymous principal.
  public let name: String

  /// The caller of a server that checks no tokens.
  public static let anonymous = Principal(unchecked: "")

  /// The most UTF-8 bytes a name may have.
  public static let maxNameLength = 64

  /// Validates a name from the tokens file: 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `@`,
  /// not `.` or `..`, so that it is safe as an object key segment (`--key-prefix-per-principal`).
  ///
  /// - Throws: `UploadError` `.invalidRequest` saying which rule failed.
  public init(validating name: String) throws(UploadError) {
    guard !name.isEmpty, name.utf8.count <= Self.maxNameLength else {
      throw UploadError(.invalidRequest, "a principal name has 1 to \(Self.maxNameLength) characters")
    }
    guard name.utf8.allSatisfy(Self.isAllowed), name != ".", name != ".." else {
      throw UploadError(
        .invalidRequest, "the principal name \"\(name.prefix(64))\" may only use letters, digits, '-', '_', '.' and '@'")
    }
    self.name = name
  }

  /// Wraps a name read from storage.
  public init(unchecked name: String) {
    self.name = name
  }

  /// Whether this is the caller of a server without tokens.
  public var isAnonymous: Bool { name.isEmpty }

  public var description: String { isAnonymous ? "(anonymous)" : name }

  private static func isAllowed(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
      UInt8(ascii: "@"):
      true
    default: false
    }
  }
}
