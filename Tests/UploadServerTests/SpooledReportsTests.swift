import Foundation
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// `PartSpooled`: what a stream has written to the spool, reported between the durable
/// acknowledgements, so clients can keep few bytes in flight.
@Suite struct SpooledReportsTests {
  @Test func aStreamReportsItsSpooledBytesEveryInterval() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.sessions.acknowledgementBytes = 4 << 20
    configuration.sessions.acknowledgementInterval = .seconds(3600)
    configuration.sessions.spooledReportBytes = 1 << 20
    let file = TestFile(bytes: randomBytes(6 << 20, seed: 11), partSize: 6 << 20)
    try await withSessionsServer(configuration) { client, _ in
      let session = try await client.create(file, key: "spooled")
      #expect(session.spooledReportBytes == 1 << 20)
      let log = StreamLog()
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: log)
      let spooled = log.events.compactMap { event -> UInt64? in
        guard case .spooled(let spooled)? = event.event, spooled.partNumber == 1 else { return nil }
        return spooled.spooledBytes
      }
      // Every MiB but the 4th (a durable acknowledgement then) and the last (the part's end,
      // acknowledged durable); never a durable offset repeated as spooled.
      #expect(spooled == [1, 2, 3, 5].map { UInt64($0) << 20 })
      #expect(log.acknowledged(part: 1) == 6 << 20)
    }
  }
}
