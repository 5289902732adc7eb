/// Byte counts as people write them: `512`, `512KiB`, `8MiB`, `5GiB`, `2TiB` (binary), or
/// `8MB`, `1GB` (decimal), case-insensitive.
public enum ByteSize {
  private static let units: [(suffix: String, factor: Int64)] = [
    ("tib", 1 << 40), ("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10),
    ("tb", 1_000_000_000_000), ("gb", 1_000_000_000), ("mb", 1_000_000), ("kb", 1_000), ("b", 1),
  ]

  /// Parses `text`, or returns nil when it is not a non-negative size.
  public static func parse(_ text: String) -> Int64? {
    let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
    var number = Substring(lowered)
    var factor: Int64 = 1
    if let unit = units.first(where: { lowered.hasSuffix($0.suffix) }) {
      number = lowered.dropLast(unit.suffix.count)
      factor = unit.factor
    }
    guard let value = Int64(number.trimmingCharacters(in: .whitespaces)), value >= 0 else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: factor)
    return overflow ? nil : product
  }

  /// `bytes` in the largest binary unit that divides it, such as `8MiB`.
  public static func format(_ bytes: Int64) -> String {
    for (suffix, factor) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
    where bytes >= factor && bytes % factor == 0 {
      return "\(bytes / factor)\(suffix)"
    }
    return "\(bytes)B"
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
    String(drop(while: set.contains).reversed().drop(while: set.contains).reversed())
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
    String(self).trimmingCharacters(in: set)
  }
}

extension Set where Element == Character {
  fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}
