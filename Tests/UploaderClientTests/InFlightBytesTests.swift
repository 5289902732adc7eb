import Testing
import UploaderClient

@Suite struct InFlightBytesTests {
  let chunk = 256 << 10

  @Test func reportsReleaseWhatWasSentPartByPart() {
    var bytes = InFlightBytes(reportBytes: 1 << 20, chunkSize: chunk, serverGrantsCredit: true)
    bytes.begin(part: 3, at: 1_000)  // resumed: 1,000 bytes were durable before
    bytes.sent(4_000)
    #expect(bytes.count == 4_000)
    bytes.reported(part: 3, bytes: 3_000)
    #expect(bytes.count == 2_000)
    bytes.reported(part: 3, bytes: 2_500)  // an older report changes nothing
    #expect(bytes.count == 2_000)
    bytes.begin(part: 4, at: 0)
    bytes.sent(500)
    bytes.reported(part: 9, bytes: 100)  // not this stream's part
    bytes.reported(part: 3, bytes: 5_000)
    bytes.reported(part: 4, bytes: 500)
    #expect(bytes.count == 0)
  }

  /// Until the first event, two chunks (the server reports a stream's first chunk at once); then
  /// the credit, within this client's share of its budget.
  @Test func theBoundIsTheServersCreditWithinTheClientsShare() {
    var bytes = InFlightBytes(reportBytes: 1 << 20, chunkSize: chunk, serverGrantsCredit: true)
    #expect(bytes.limit(streams: 4) == 2 * Int64(chunk))
    bytes.granted(16 << 20)
    #expect(bytes.limit(streams: 4) == 8 << 20)  // the client's share: 32 MiB over 4 streams
    bytes.granted(1 << 20)
    #expect(bytes.limit(streams: 4) == 1 << 20)
    bytes.granted(0)  // grants nothing new
    #expect(bytes.credit == 1 << 20)
  }

  /// The server reports every quarter of the credit, at most every `reportBytes`: a stream must
  /// be able to send that and a chunk, or it would wait for a report that never comes.
  @Test func theBoundNeverStarvesTheNextReport() {
    var many = InFlightBytes(reportBytes: 1 << 20, chunkSize: chunk, serverGrantsCredit: true)
    many.granted(16 << 20)  // the server's interval is 1 MiB; the client's share only 512 KiB
    #expect(many.limit(streams: 64) == (1 << 20) + Int64(chunk))
    var small = InFlightBytes(reportBytes: 1 << 20, chunkSize: 1 << 20, serverGrantsCredit: true)
    small.granted(512 << 10)  // chunks larger than the credit
    #expect(small.limit(streams: 1) == 2 << 20)
  }

  /// A server without spooled reports acknowledges durable bytes only, every
  /// `acknowledgement_bytes`: the client's share, never less than two of those and a chunk.
  @Test func withoutCreditTheClientsShareBounds() {
    var bytes = InFlightBytes(reportBytes: 4 << 20, chunkSize: chunk, serverGrantsCredit: false)
    #expect(bytes.limit(streams: 4) == (8 << 20) + Int64(chunk))
    bytes.granted(1 << 20)
    #expect(bytes.limit(streams: 4) == (8 << 20) + Int64(chunk))
    #expect(
      InFlightBytes(reportBytes: 4 << 20, chunkSize: chunk, serverGrantsCredit: false).limit(streams: 1) == 32 << 20)
  }

  /// The budget follows the measured goodput: half a second of it, from 8 to 32 MiB.
  @Test func theBudgetFollowsTheGoodput() {
    #expect(InFlightBytes.budget(forGoodput: 12.5e6) == 8 << 20)  // 100 Mbit/s: the floor
    #expect(InFlightBytes.budget(forGoodput: 40e6) == 20_000_000)
    #expect(InFlightBytes.budget(forGoodput: 125e6) == 32 << 20)  // 1 Gbit/s: the ceiling
    #expect(InFlightBytes.budget(forGoodput: 0) == 32 << 20)  // nothing measured: the ceiling
    #expect(InFlightBytes.budget(forGoodput: .nan) == 32 << 20)
  }

  @Test func aSmallerBudgetShrinksTheShareButNeverTheFloor() {
    var bytes = InFlightBytes(reportBytes: 1 << 20, chunkSize: chunk, serverGrantsCredit: true)
    bytes.granted(16 << 20)
    #expect(bytes.limit(streams: 4, budget: 8 << 20) == 2 << 20)
    // 64 streams: the share (128 KiB) is below a report interval and a chunk, which wins.
    bytes.granted(1 << 20)
    #expect(bytes.limit(streams: 64, budget: 8 << 20) == (256 << 10) + Int64(chunk))
  }
}
