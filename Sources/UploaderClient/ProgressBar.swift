import UploadCore

/// Renders one line of progress: bar, percent, bytes, rate and ETA. Pure.
public enum ProgressBar {
  /// - Parameters:
  ///   - done: bytes acknowledged by the server.
  ///   - total: the file's size; nil for a stream whose size is not known (no bar, no ETA).
  ///   - bytesPerSecond: the recent rate, or nil before there is one.
  ///   - width: the bar's width in characters.
  public static func render(done: Int64, total: Int64?, bytesPerSecond: Double?, width: Int = 30) -> String {
    guard let total else {
      var line = "\(human(done)) sent"
      if let bytesPerSecond, bytesPerSecond > 0 { line += "  \(human(Int64(bytesPerSecond)))/s" }
      return line
    }
    let fraction = total == 0 ? 1 : min(1, max(0, Double(done) / Double(total)))
    let filled = Int((fraction * Double(width)).rounded(.down))
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    let percent = Int((fraction * 100).rounded(.down))
    var line = "[\(bar)] \(pad(String(percent), 3))%  \(human(done)) / \(human(total))"
    if let bytesPerSecond, bytesPerSecond > 0 {
      line += "  \(human(Int64(bytesPerSecond)))/s  ETA \(clock(Double(total - done) / bytesPerSecond))"
    }
    return line
  }

  /// `1.5 GiB`, `12.0 MiB`, `512 B`.
  public static func human(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
  }

  /// `0:42`, `1:02:03`.
  public static func clock(_ seconds: Double) -> String {
    let total = max(0, Int(seconds.rounded(.up)))
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    return h > 0 ? "\(h):\(pad(String(m), 2, "0")):\(pad(String(s), 2, "0"))" : "\(m):\(pad(String(s), 2, "0"))"
  }

  private static func pad(_ text: String, _ width: Int, _ fill: Character = " ") -> String {
    String(repeating: fill, count: max(0, width - text.count)) + text
  }
}
