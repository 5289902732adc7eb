import Crypto
import Foundation

/// A SHA-256 digest of content, printable as lowercase hex (logs, messages) and base64 (S3 checksum headers).
public struct ContentHash: Hashable, Sendable, CustomStringConvertible {
  /// The 32 digest bytes.
  public let bytes: [UInt8]

  /// Wraps 32 digest bytes.
  public init?(bytes: [UInt8]) {
    guard bytes.count == 32 else { return nil }
    self.bytes = bytes
  }

  /// Wraps a finished swift-crypto digest.
  public init(_ digest: SHA256.Digest) {
    self.bytes = Array(digest)
  }

  /// Parses 64 hex digits (either case).
  public init?(hex: String) {
    let digits = Array(hex.utf8)
    guard digits.count == 64 else { return nil }
    var bytes = [UInt8]()
    bytes.reserveCapacity(32)
    for index in stride(from: 0, to: 64, by: 2) {
      guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else {
        return nil
      }
      bytes.append(high << 4 | low)
    }
    self.bytes = bytes
  }

  /// The digest of `data`.
  public static func of<D: DataProtocol>(_ data: D) -> ContentHash {
    ContentHash(SHA256.hash(data: data))
  }

  /// The digest of no bytes.
  public static let empty = ContentHash.of([UInt8]())

  /// Lowercase hex, as `sha256sum` prints it.
  public var hex: String { Hex.encode(bytes) }

  /// Base64, as S3's `x-amz-checksum-sha256` header carries it.
  public var base64: String { Data(bytes).base64EncodedString() }

  public var description: String { hex }

  private static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
