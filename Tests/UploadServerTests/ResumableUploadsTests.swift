import Foundation
import GRPCCore
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// The resumable protocol over a real loopback socket, with the local directory store.
@Suite struct ResumableUploadsTests {
  static let partSize = 5 << 20
  static let ackBytes: Int64 = 1 << 20

  func configuration(_ data: TemporaryDirectory) -> ServerConfiguration {
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.sessions.acknowledgementBytes = Self.ackBytes
    configuration.sessions.acknowledgementInterval = .seconds(3600)
    return configuration
  }

  func storedObject(_ data: TemporaryDirectory, _ key: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/" + key)))
  }

  @Test func uploadsInOneStreamAndCompletesOnce() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(2 * Self.partSize + 12_345), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "one/stream.bin")
      #expect(session.partCount == 3 && session.state == .open)
      let log = StreamLog()
      let chunks = (1...3).flatMap { SessionsClient.chunks(of: file, part: $0) }
      try await client.stream(file, session: session.id, chunks: chunks, log: log)
      #expect(log.committedParts == [1, 2, 3])
      #expect((1...3).map { log.acknowledged(part: $0) } == (1...3).map { UInt64(file.part($0).count) })

      let completed = try await client.complete(file, session: session.id)
      #expect(completed.state == .completed)
      #expect(completed.sha256 == Data(ContentHash.of(file.bytes).bytes))
      let again = try await client.complete(file, session: session.id)
      #expect(again.etag == completed.etag && again.state == .completed)
    }
    #expect(try storedObject(data, "one/stream.bin") == file.bytes)
    #expect(data.files(under: "spool").isEmpty)
    #expect(data.files(under: "store/uploads").isEmpty)
  }
}
