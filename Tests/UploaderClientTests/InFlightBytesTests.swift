import Testing
import UploaderClient

@Suite struct InFlightBytesTests {
  @Test func acknowledgementsReleaseWhatWasSentPartByPart() {
    var bytes = InFlightBytes()
    bytes.begin(part: 3, at: 1_000)  // resumed: 1,000 bytes were durable before
    bytes.sent(4_000)
    #expect(bytes.count == 4_000)
    bytes.acknowledged(part: 3, receivedBytes: 3_000)
    #expect(bytes.count == 2_000)
    bytes.acknowledged(part: 3, receivedBytes: 2_500)  // an older acknowledgement changes nothing
    #expect(bytes.count == 2_000)
    bytes.begin(part: 4, at: 0)
    bytes.sent(500)
    bytes.acknowledged(part: 9, receivedBytes: 100)  // not this stream's part
    bytes.acknowledged(part: 3, receivedBytes: 5_000)
    bytes.acknowledged(part: 4, receivedBytes: 500)
    #expect(bytes.count == 0)
  }

  @Test func theLimitSharesTheBudgetButNeverStarvesAStream() {
    let chunk = 256 << 10
    #expect(InFlightBytes.limit(streams: 1, acknowledgementBytes: 4 << 20, chunkSize: chunk) == InFlightBytes.budget)
    #expect(InFlightBytes.limit(streams: 4, acknowledgementBytes: 4 << 20, chunkSize: chunk) == (8 << 20) + Int64(chunk))
    #expect(InFlightBytes.limit(streams: 64, acknowledgementBytes: 1 << 20, chunkSize: chunk) == (2 << 20) + Int64(chunk))
    #expect(InFlightBytes.limit(streams: 2, acknowledgementBytes: 1 << 20, chunkSize: chunk) == 16 << 20)
  }
}
