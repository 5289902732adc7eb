import Crypto

/// The tokens a server accepts, as the `--auth-tokens` file lists them: one `PRINCIPAL SHA256HEX`
/// per line, where `SHA256HEX` is the SHA-256 of the token, so no token is kept in plain text.
/// Blank lines and lines starting with `#` are ignored.
public struct AccessTokens: Sendable {
  /// One accepted token's digest and the principal it stands for.
  public struct Entry: Sendable, Hashable {
    public let principal: Principal
    public let digest: ContentHash
  }

  /// The entries, in file order.
  public let entries: [Entry]

  /// Parses the file's text.
  ///
  /// - Throws: `UploadError` `.invalidRequest` naming the line that is wrong.
  public init(parsing text: String) throws(UploadError) {
    var entries: [Entry] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
      if fields.isEmpty || fields[0].hasPrefix("#") { continue }
      let number = index + 1
      guard fields.count == 2 else {
        throw UploadError(.invalidRequest, "line \(number): expected \"PRINCIPAL SHA256HEX\", got \(fields.count) field(s)")
      }
      let principal: Principal
      do {
        principal = try Principal(validating: String(fields[0]))
      } catch {
        throw UploadError(.invalidRequest, "line \(number): \(error.message)")
      }
      guard let digest = ContentHash(hex: String(fields[1])) else {
        throw UploadError(
          .invalidRequest, "line \(number): the second field must be the token's SHA-256 as 64 hex digits")
      }
      if let clash = entries.first(where: { $0.digest == digest }), clash.principal != principal {
        throw UploadError(
          .invalidRequest, "line \(number): the same token is listed for \(clash.principal) and \(principal)")
      }
      entries.append(Entry(principal: principal, digest: digest))
    }
    self.entries = entries
  }

  /// The principal `token` stands for, or nil. Takes the same time whichever entry matches, or
  /// none: the token is hashed, then compared with every entry without stopping early.
  public func principal(for token: String) -> Principal? {
    let digest = Array(SHA256.hash(data: Array(token.utf8)))
    var found: Principal?
    for entry in entries where Self.constantTimeEqual(entry.digest.bytes, digest) {
      found = entry.principal
    }
    return found
  }

  /// Compares two equally long byte arrays in time that depends only on their length.
  static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
  }
}
