import Foundation

/// The `Upload-Metadata` header of tus 1.0: comma-separated pairs of a key and, after a space,
/// its value in base64 (a key may come without a value).
///
/// Three keys name the object rather than describe it: `key` (the object key), else `filename`,
/// and `filetype` (its content type). Every other pair becomes the object's metadata, under the
/// same rules as metadata given over gRPC.
public struct TusMetadata: Hashable, Sendable {
  /// Every pair, decoded; a key given without a value maps to "".
  public let pairs: [String: String]

  /// Pairs as given.
  public init(pairs: [String: String]) {
    self.pairs = pairs
  }

  /// Parses the header.
  ///
  /// - Throws: `.invalidRequest` for an empty or repeated key, a key with a space or a comma, a
  ///   value that is not base64, or one that is not UTF-8 text.
  public init(header: String) throws(UploadError) {
    self.pairs = try Self.parse(header)
  }

  private static func parse(_ header: String) throws(UploadError) -> [String: String] {
    var pairs: [String: String] = [:]
    guard !header.trimmingCharacters(in: .whitespaces).isEmpty else { return pairs }
    for item in header.split(separator: ",", omittingEmptySubsequences: false) {
      let fields = item.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
      guard let key = fields.first.map(String.init), fields.count <= 2 else {
        throw UploadError(
          .invalidRequest,
          "Upload-Metadata: \"\(item.prefix(64))\" is not a key and a base64 value separated by one space")
      }
      guard pairs[key] == nil else { throw UploadError(.invalidRequest, "Upload-Metadata: the key \"\(key.prefix(64))\" is given twice") }
      var value = ""
      if fields.count == 2 {
        guard let bytes = Data(base64Encoded: String(fields[1])) else {
          throw UploadError(.invalidRequest, "Upload-Metadata: the value of \"\(key.prefix(64))\" is not base64")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
          throw UploadError(.invalidRequest, "Upload-Metadata: the value of \"\(key.prefix(64))\" is not UTF-8 text")
        }
        value = text
      }
      pairs[key] = value
    }
    return pairs
  }

  /// The object key: `key`, else `filename`; nil when neither is given.
  public var objectKey: String? {
    [pairs["key"], pairs["filename"]].compactMap { $0 }.first { !$0.isEmpty }
  }

  /// The content type (`filetype`), or "".
  public var contentType: String { pairs["filetype"] ?? "" }

  /// The pairs that become the object's metadata: all but `key`, `filename` and `filetype`,
  /// their names in lower case as S3 keeps them (browser clients send names like `relativePath`).
  public var objectMetadata: [String: String] {
    Dictionary(
      pairs.filter { !Self.namingKeys.contains($0.key) }.map { ($0.key.lowercased(), $0.value) },
      uniquingKeysWith: { first, _ in first })
  }

  /// The keys that name the object rather than describe it.
  public static let namingKeys: Set<String> = ["key", "filename", "filetype"]

  /// The header for `pairs`, keys in order.
  public static func header(_ pairs: [String: String]) -> String {
    pairs.sorted { $0.key < $1.key }
      .map { $0.value.isEmpty ? $0.key : "\($0.key) \(Data($0.value.utf8).base64EncodedString())" }
      .joined(separator: ",")
  }
}
