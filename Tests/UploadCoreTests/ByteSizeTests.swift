import Testing
import UploadCore

@Suite struct ByteSizeTests {
  @Test(arguments: [
    ("0", Int64(0)), ("512", 512), ("512KiB", 512 << 10), ("8MiB", 8 << 20), ("8mib", 8 << 20), ("5GiB", 5 << 30),
    ("2TiB", 2 << 40), ("8MB", 8_000_000), ("1 GB", 1_000_000_000), ("7B", 7),
  ])
  func parses(_ text: String, _ bytes: Int64) {
    #expect(ByteSize.parse(text) == bytes)
  }

  @Test(arguments: ["", "MiB", "-1", "1.5MiB", "8 potatoes", "9999999999TiB"])
  func refuses(_ text: String) {
    #expect(ByteSize.parse(text) == nil)
  }

  @Test func formatsInTheLargestWholeUnit() {
    #expect(ByteSize.format(8 << 20) == "8MiB")
    #expect(ByteSize.format(5 << 40) == "5TiB")
    #expect(ByteSize.format(1000) == "1000B")
  }
}

@Suite struct DurationTextTests {
  @Test func parsesUnits() {
    #expect(DurationText.parse("500ms") == .milliseconds(500))
    #expect(DurationText.parse("90s") == .seconds(90))
    #expect(DurationText.parse("30m") == .seconds(1800))
    #expect(DurationText.parse("24h") == .seconds(86_400))
    #expect(DurationText.parse("7d") == .seconds(604_800))
  }

  @Test(arguments: ["", "10", "0s", "-5m", "1.5h", "h"])
  func refuses(_ text: String) {
    #expect(DurationText.parse(text) == nil)
  }
}
