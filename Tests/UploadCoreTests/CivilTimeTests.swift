import Foundation
import Testing
import UploadCore

@Suite struct CivilTimeTests {
  @Test(arguments: [
    (Int64(0), [1970, 1, 1, 0, 0, 0], 4),
    (Int64(951_782_400), [2000, 2, 29, 0, 0, 0], 2),
    (Int64(-1), [1969, 12, 31, 23, 59, 59], 3),
    (Int64(1_796_601_599), [2026, 12, 6, 23, 59, 59], 0),
  ])
  func breaksSecondsIntoTheGregorianCalendar(seconds: Int64, fields: [Int64], weekday: Int) {
    let t = CivilTime(secondsSince1970: seconds)
    #expect([t.year, t.month, t.day, t.hour, t.minute, t.second] == fields)
    #expect(t.weekday == weekday)
  }

  @Test func agreesWithFoundationsCalendarOverCenturies() throws {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
    var seconds: Int64 = -4_000_000_000
    while seconds < 7_000_000_000 {
      let c = calendar.dateComponents(
        [.year, .month, .day, .hour, .minute, .second, .weekday], from: Date(timeIntervalSince1970: Double(seconds)))
      let t = CivilTime(secondsSince1970: seconds)
      #expect([t.year, t.month, t.day, t.hour, t.minute, t.second].map(Int.init) == [c.year, c.month, c.day, c.hour, c.minute, c.second].map { $0 ?? -1 })
      #expect(t.weekday + 1 == c.weekday)
      seconds += 8_640_000 + 3_607
    }
  }

  @Test func padsWithZeros() {
    #expect(CivilTime.padded(7, 2) == "07" && CivilTime.padded(2026, 4) == "2026" && CivilTime.padded(12345, 4) == "12345")
  }
}
