/// Lowercase hexadecimal encoding.
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// Encodes `bytes` as lowercase hex.
  public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
