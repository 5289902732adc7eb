/// Percent-encoding as SigV4 defines it: every byte except `A-Z a-z 0-9 - _ . ~` becomes `%XX`
/// (uppercase hex). S3 paths keep `/` and are encoded once, never twice.
enum URIEncoding {
  private static let hexDigits = Array("0123456789ABCDEF".utf8)

  /// Encodes a query name or value.
  static func encode(_ string: String) -> String {
    encode(string, keepingSlash: false)
  }

  /// Encodes a path, keeping `/`.
  static func encodePath(_ string: String) -> String {
    encode(string, keepingSlash: true)
  }

  private static func encode(_ string: String, keepingSlash: Bool) -> String {
    var out = [UInt8]()
    out.reserveCapacity(string.utf8.count)
    for byte in string.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
        UInt8(ascii: "."), UInt8(ascii: "~"):
        out.append(byte)
      case UInt8(ascii: "/") where keepingSlash:
        out.append(byte)
      default:
        out.append(UInt8(ascii: "%"))
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0f)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
