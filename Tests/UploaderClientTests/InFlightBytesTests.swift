import Testing
import UploaderClient

@Suite struct InFlightBytesTests {
  let chunk = 256 << 10
  let start = ContinuousClock.now

  @Test func reportsReleaseWhatWasSentPartByPart() {
    var bytes = InFlightBytes(streams: 1, reportBytes: 1 << 20, chunkSize: chunk)
    bytes.begin(part: 3, at: 1_000)  // resumed: 1,000 bytes were durable before
    bytes.sent(4_000, part: 3, end: 5_000, at: start)
    #expect(bytes.count == 4_000)
    bytes.reported(part: 3, bytes: 3_000, at: start)
    #expect(bytes.count == 2_000)
    bytes.reported(part: 3, bytes: 2_500, at: start)  // an older report changes nothing
    #expect(bytes.count == 2_000)
    bytes.begin(part: 4, at: 0)
    bytes.sent(500, part: 4, end: 500, at: start)
    bytes.reported(part: 9, bytes: 100, at: start)  // not this stream's part
    bytes.reported(part: 3, bytes: 5_000, at: start)
    bytes.reported(part: 4, bytes: 500, at: start)
    #expect(bytes.count == 0)
  }

  @Test func beforeARoundTripIsMeasuredTheBudgetIsSharedButNeverStarvesAStream() {
    #expect(InFlightBytes(streams: 1, reportBytes: 4 << 20, chunkSize: chunk).limit == InFlightBytes.budget)
    #expect(InFlightBytes(streams: 4, reportBytes: 4 << 20, chunkSize: chunk).limit == (8 << 20) + Int64(chunk))
    #expect(InFlightBytes(streams: 64, reportBytes: 1 << 20, chunkSize: chunk).limit == (2 << 20) + Int64(chunk))
    #expect(InFlightBytes(streams: 2, reportBytes: 1 << 20, chunkSize: chunk).limit == 16 << 20)
  }

  /// On a short round trip a stream needs little in flight (two round trips of a 10 Gbit/s
  /// link); on a long one it keeps its share of the budget. The shortest round trip counts.
  @Test func theLimitFollowsTheShortestMeasuredRoundTrip() {
    var bytes = InFlightBytes(streams: 4, reportBytes: 1 << 20, chunkSize: chunk)
    #expect(bytes.limit == 8 << 20)
    bytes.begin(part: 1, at: 0)
    bytes.sent(1 << 20, part: 1, end: 1 << 20, at: start)
    bytes.reported(part: 1, bytes: 1 << 20, at: start + .milliseconds(100))
    #expect(bytes.roundTrip == .milliseconds(100))
    #expect(bytes.limit == 8 << 20)  // 100 ms: the whole budget, shared

    bytes.sent(1 << 20, part: 1, end: 2 << 20, at: start + .seconds(1))
    bytes.reported(part: 1, bytes: 2 << 20, at: start + .seconds(1) + .milliseconds(4))
    #expect(bytes.roundTrip == .milliseconds(4))
    // 2 x 4 ms x 1.25 GB/s = 10 MB over 4 streams.
    #expect(bytes.limit == 10_000_000 / 4)

    bytes.sent(1 << 20, part: 1, end: 3 << 20, at: start + .seconds(2))
    bytes.reported(part: 1, bytes: 3 << 20, at: start + .seconds(2) + .microseconds(200))
    #expect(bytes.limit == (2 << 20) + Int64(chunk))  // loopback: two reports and a chunk

    bytes.sent(1 << 20, part: 1, end: 4 << 20, at: start + .seconds(3))
    bytes.reported(part: 1, bytes: 4 << 20, at: start + .seconds(4))
    #expect(bytes.roundTrip == .microseconds(200))  // a slow report does not raise it
  }

  /// A report that ends where no chunk ended (a durable acknowledgement after a resume, a
  /// committed part) releases bytes but measures nothing.
  @Test func onlyAReportOfAChunksEndIsARoundTrip() {
    var bytes = InFlightBytes(streams: 4, reportBytes: 1 << 20, chunkSize: chunk)
    bytes.begin(part: 2, at: 0)
    bytes.sent(300, part: 2, end: 300, at: start)
    bytes.sent(300, part: 2, end: 600, at: start)
    bytes.reported(part: 2, bytes: 450, at: start + .milliseconds(1))
    #expect(bytes.roundTrip == nil && bytes.count == 150)
    bytes.reported(part: 2, bytes: 600, at: start + .milliseconds(2))
    #expect(bytes.roundTrip == .milliseconds(2) && bytes.count == 0)
  }
}
