import Crypto
import Foundation

/// The `Upload-Checksum` header of tus 1.0's checksum extension: an algorithm and the base64
/// digest of one request's body.
public struct TusChecksum: Hashable, Sendable {
  /// The algorithms the server accepts: sha1, which the extension requires, and sha256.
  public enum Algorithm: String, CaseIterable, Sendable {
    case sha1, sha256
  }

  public let algorithm: Algorithm
  /// The digest the client claims.
  public let digest: [UInt8]

  /// The value of `Tus-Checksum-Algorithm`.
  public static let supported = Algorithm.allCases.map(\.rawValue).joined(separator: ",")

  /// Parses the header.
  ///
  /// - Throws: `.invalidRequest` for an algorithm the server does not support (the extension
  ///   answers 400 then), or a digest that is not base64 of that algorithm's length.
  public init(header: String) throws(UploadError) {
    let fields = header.split(separator: " ", omittingEmptySubsequences: true)
    guard fields.count == 2 else {
      throw UploadError(.invalidRequest, "Upload-Checksum is \"ALGORITHM BASE64\"; got \"\(header.prefix(80))\"")
    }
    guard let algorithm = Algorithm(rawValue: fields[0].lowercased()) else {
      throw UploadError(
        .invalidRequest, "Upload-Checksum: the algorithm \"\(fields[0].prefix(32))\" is not supported; use one of \(Self.supported)")
    }
    guard let digest = Data(base64Encoded: String(fields[1])), digest.count == algorithm.digestLength else {
      throw UploadError(
        .invalidRequest, "Upload-Checksum: the \(algorithm.rawValue) digest must be \(algorithm.digestLength) bytes in base64")
    }
    self.algorithm = algorithm
    self.digest = Array(digest)
  }

  /// A hasher for the body.
  public func makeHasher() -> Hasher { Hasher(algorithm) }

  /// Hashes one request's body with the claimed algorithm.
  public struct Hasher: Sendable {
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()
    private let algorithm: Algorithm

    init(_ algorithm: Algorithm) { self.algorithm = algorithm }

    public mutating func update<Bytes: DataProtocol>(data: Bytes) {
      switch algorithm {
      case .sha1: sha1.update(data: data)
      case .sha256: sha256.update(data: data)
      }
    }

    public func finalize() -> [UInt8] {
      switch algorithm {
      case .sha1: Array(sha1.finalize())
      case .sha256: Array(sha256.finalize())
      }
    }
  }
}

extension TusChecksum.Algorithm {
  var digestLength: Int {
    switch self {
    case .sha1: Insecure.SHA1.byteCount
    case .sha256: SHA256.byteCount
    }
  }
}
