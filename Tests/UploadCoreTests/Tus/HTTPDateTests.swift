import Foundation
import Testing
import UploadCore

@Suite struct HTTPDateTests {
  @Test(arguments: [
    (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
    (Int64(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT"),
    (Int64(951_782_400_999), "Tue, 29 Feb 2000 00:00:00 GMT"),
    (Int64(1_796_601_599_000), "Sun, 06 Dec 2026 23:59:59 GMT"),
  ])
  func formatsIMFFixdate(milliseconds: Int64, expected: String) {
    #expect(HTTPDate.format(millisecondsSince1970: milliseconds) == expected)
  }

  @Test func agreesWithFoundationOverManyDays() {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    var milliseconds: Int64 = -86_400_000 * 400
    while milliseconds < 4_102_444_800_000 {
      let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
      #expect(HTTPDate.format(millisecondsSince1970: milliseconds) == formatter.string(from: date))
      milliseconds += 86_400_000 * 37 + 3_723_000
    }
  }
}
