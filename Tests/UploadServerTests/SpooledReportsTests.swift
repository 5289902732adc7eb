import Foundation
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// `PartSpooled` and credit: what a stream has written to the spool, reported between the
/// durable acknowledgements, and the share of the receive budget each event grants, so clients
/// keep few bytes in flight and the server's memory does not grow with their number.
@Suite struct SpooledReportsTests {
  @Test func aStreamReportsItsFirstChunkAtOnceThenEveryInterval() async throws {
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
      // The first chunk at once (it tells the client its credit), then every MiB but where a
      // durable acknowledgement came (4 MiB, and the part's end); never a durable offset
      // repeated as spooled.
      let kib: [UInt64] = [256, 1_280, 2_304, 3_328, 5_120]
      #expect(spooledOffsets(log, part: 1) == kib.map { $0 << 10 })
      #expect(log.acknowledged(part: 1) == 6 << 20)
      // One stream open: the whole budget, up to the ceiling.
      let credits = Set(log.events.map(\.creditBytes))
      #expect(credits == [UInt64(16 << 20)])
    }
  }

  /// Two streams share the budget; when one ends the other gets it all back. A small credit
  /// brings reports closer together (a quarter of the credit).
  @Test func openStreamsShareTheReceiveBudget() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.sessions.acknowledgementInterval = .seconds(3600)
    configuration.sessions.receiveCreditBudget = 4 << 20
    configuration.sessions.maximumStreamCredit = 4 << 20
    let file = TestFile(bytes: randomBytes(12 << 20, seed: 12), partSize: 6 << 20)
    try await withSessionsServer(configuration) { client, _ in
      let session = try await client.create(file, key: "credit")
      let first = StreamLog()
      let second = StreamLog()
      try await client.stream(
        file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: first, waitAfter: 2,
        resume: {
          let reported = try await eventually(seconds: 30) { !first.events.isEmpty }
          #expect(reported, "the first chunk was never reported")
          try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 2), log: second)
        })
      #expect(first.events.first?.creditBytes == 4 << 20)
      let shared = Set(second.events.map(\.creditBytes))
      #expect(shared == [UInt64(2 << 20)])
      #expect(first.events.last?.creditBytes == 4 << 20)
      // Credit 2 MiB: a report every 512 KiB after the first chunk.
      let closer: [UInt64] = [256, 768, 1_280]
      #expect(Array(spooledOffsets(second, part: 2).prefix(3)) == closer.map { $0 << 10 })
      #expect(first.acknowledged(part: 1) == 6 << 20 && second.acknowledged(part: 2) == 6 << 20)
    }
  }

  private func spooledOffsets(_ log: StreamLog, part: UInt32) -> [UInt64] {
    log.events.compactMap { event in
      guard case .spooled(let spooled)? = event.event, spooled.partNumber == part else { return nil }
      return spooled.spooledBytes
    }
  }
}
