/// Durations as people write them: `90s`, `30m`, `24h`, `7d`, `500ms`.
public enum DurationText {
  /// Parses `text`, or returns nil when it is not a positive duration with a unit.
  public static func parse(_ text: String) -> Duration? {
    let units: [(String, (Int64) -> Duration)] = [
      ("ms", { .milliseconds($0) }), ("s", { .seconds($0) }), ("m", { .seconds($0 * 60) }),
      ("h", { .seconds($0 * 3600) }), ("d", { .seconds($0 * 86_400) }),
    ]
    for (suffix, make) in units where text.hasSuffix(suffix) {
      guard let value = Int64(text.dropLast(suffix.count)), value > 0, value < 1 << 40 else { return nil }
      return make(value)
    }
    return nil
  }
}
