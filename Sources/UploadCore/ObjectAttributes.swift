/// What an object carries besides its bytes: its content type, the uploader's metadata and,
/// once the server has read it back and found it whole, its SHA-256.
///
/// The rules are S3's, made strict enough that nothing a client sends can become a header of
/// its own or be silently changed on the way:
/// - content type: empty (the store's default), or at most 255 printable ASCII characters with
///   a `/` and no leading or trailing space;
/// - metadata names: 1 to 128 of `a-z 0-9 - _ .`, starting with a letter or digit (S3 lowercases
///   names, so an upper-case name would come back different); `sha256` is the server's;
/// - metadata values: printable ASCII, no leading or trailing space (HTTP trims it);
/// - names and values together at most `maximumMetadataBytes`: S3 allows 2 KiB, and the server
///   adds `sha256` (70 bytes).
public struct ObjectAttributes: Hashable, Sendable {
  /// The object's media type; empty for the store's default.
  public var contentType: String
  /// The uploader's metadata (`x-amz-meta-<name>` in S3).
  public var metadata: [String: String]
  /// The object's SHA-256, once the server has verified it; nil before.
  public var sha256: ContentHash?

  /// The metadata name under which the verified SHA-256 is stored.
  public static let sha256Name = "sha256"
  /// S3's limit on the metadata of one object, in bytes of names and values.
  public static let storeMetadataLimit = 2048
  /// The most metadata a client may send: S3's limit less the server's `sha256` entry.
  public static let maximumMetadataBytes = storeMetadataLimit - sha256Name.utf8.count - 64

  /// Attributes as given, not validated (see `validated(contentType:metadata:limit:)`).
  public init(contentType: String = "", metadata: [String: String] = [:], sha256: ContentHash? = nil) {
    self.contentType = contentType
    self.metadata = metadata
    self.sha256 = sha256
  }

  /// Validates a client's content type and metadata.
  ///
  /// - Parameter limit: the most bytes of names and values to accept (at most
  ///   `maximumMetadataBytes` is meaningful for S3).
  /// - Throws: `.invalidRequest`, naming the field and the rule it breaks.
  public static func validated(contentType: String, metadata: [String: String], limit: Int = maximumMetadataBytes)
    throws(UploadError) -> ObjectAttributes
  {
    if let problem = problem(contentType: contentType) {
      throw UploadError(.invalidRequest, "invalid content type \(quoted(contentType)): \(problem)")
    }
    for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
      if let problem = problem(name: name) {
        throw UploadError(.invalidRequest, "invalid metadata name \(quoted(name)): \(problem)")
      }
      if let problem = problem(value: value) {
        throw UploadError(.invalidRequest, "invalid value of metadata \"\(name)\": \(problem)")
      }
    }
    let bytes = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    guard bytes <= limit else {
      throw UploadError(.invalidRequest, "the metadata is \(bytes) bytes of names and values; the limit is \(limit)")
    }
    return ObjectAttributes(contentType: contentType, metadata: metadata)
  }

  /// The metadata the store writes: the uploader's, plus `sha256` once verified.
  public var storedMetadata: [String: String] {
    var stored = metadata
    if let sha256 { stored[Self.sha256Name] = sha256.hex }
    return stored
  }

  private static func problem(contentType: String) -> String? {
    guard !contentType.isEmpty else { return nil }
    if contentType.utf8.count > 255 { return "longer than 255 bytes" }
    if !isPrintableASCII(contentType) { return "only printable ASCII is allowed" }
    if contentType.first == " " || contentType.last == " " { return "leading or trailing space" }
    if !contentType.contains("/") { return "a content type is type/subtype, such as text/plain" }
    return nil
  }

  private static func problem(name: String) -> String? {
    if name.isEmpty { return "the name is empty" }
    if name.utf8.count > 128 { return "longer than 128 bytes" }
    if name == sha256Name { return "\"\(sha256Name)\" is set by the server once the object is verified" }
    if name.lowercased() != name, name.lowercased().utf8.count == name.utf8.count {
      return "S3 stores names in lower case; use \(quoted(name.lowercased()))"
    }
    let allowed = name.utf8.allSatisfy { byte in
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }
    if !allowed { return "only a-z, 0-9, '-', '_' and '.' are allowed" }
    if name.first == "-" || name.first == "_" || name.first == "." { return "it must start with a letter or digit" }
    return nil
  }

  private static func problem(value: String) -> String? {
    if !isPrintableASCII(value) {
      return "only printable ASCII is allowed (no control characters such as newlines, no non-ASCII characters)"
    }
    if value.first == " " || value.last == " " { return "leading or trailing space (HTTP would drop it)" }
    return nil
  }

  private static func isPrintableASCII(_ text: String) -> Bool {
    text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
  }

  private static func quoted(_ text: String) -> String {
    "\"\(text.unicodeScalars.map { $0.escaped(asASCII: true) }.joined().prefix(140))\""
  }
}
