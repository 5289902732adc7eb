/// A moment in UTC in the proleptic Gregorian calendar, from seconds since the Unix epoch
/// (Howard Hinnant's civil_from_days), for the dates HTTP and SigV4 write, with no Calendar
/// per request.
public struct CivilTime: Hashable, Sendable {
  public let year: Int64
  /// 1 to 12.
  public let month: Int64
  /// 1 to 31.
  public let day: Int64
  public let hour: Int64
  public let minute: Int64
  public let second: Int64
  /// 0 for Sunday to 6 for Saturday.
  public let weekday: Int

  /// The moment `seconds` after 1970-01-01T00:00:00Z (before it when negative).
  public init(secondsSince1970 seconds: Int64) {
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let time = seconds - days * 86_400
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    hour = time / 3_600
    minute = time % 3_600 / 60
    second = time % 60
    // 1970-01-01 was a Thursday.
    weekday = Int(((days + 4) % 7 + 7) % 7)
  }

  /// `value` in decimal, with zeros in front up to `width` digits.
  public static func padded(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
  }
}
