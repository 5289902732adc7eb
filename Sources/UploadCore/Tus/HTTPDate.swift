/// Dates as HTTP writes them (RFC 9110's IMF-fixdate), as tus's `Upload-Expires` carries them:
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
public enum HTTPDate {
  private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
  private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

  /// The date of `milliseconds` since the Unix epoch, to the second.
  public static func format(millisecondsSince1970 milliseconds: Int64) -> String {
    let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
    let t = CivilTime(secondsSince1970: seconds)
    let time = [t.hour, t.minute, t.second].map { CivilTime.padded($0, 2) }.joined(separator: ":")
    return "\(weekdays[t.weekday]), \(CivilTime.padded(t.day, 2)) \(months[Int(t.month - 1)]) \(t.year) \(time) GMT"
  }
}
