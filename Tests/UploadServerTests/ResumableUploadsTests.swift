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

  @Test func resumesMidPartFromTheAcknowledgedOffset() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 1000, seed: 7), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "resumed")
      // The client sends 14 chunks (3.5 MiB) of part 1, sees them acknowledged up to 3 MiB (one
      // acknowledgement per MiB), then dies.
      let first = try await client.sendThenDie(file, session: session.id, part: 1, chunks: 14, acknowledged: 3 << 20)
      let received = Int(try await client.get(session.id).parts[0].receivedBytes)
      #expect(UInt64(received) >= first.acknowledged(part: 1))
      #expect(first.bytesSent - received <= Int(Self.ackBytes), "more than one acknowledgement interval lost")

      let second = StreamLog()
      // The first chunk from `received` carries the part's digest.
      let rest = SessionsClient.chunks(of: file, part: 1, from: received) + SessionsClient.chunks(of: file, part: 2)
      try await client.stream(file, session: session.id, chunks: rest, log: second)
      let resent = first.bytesSent + second.bytesSent - file.bytes.count
      #expect(resent <= Int(Self.ackBytes), "\(resent) bytes sent again")
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
    #expect(try storedObject(data, "resumed") == file.bytes)
  }

  @Test func overlappingChunksAreSkippedAndAGapIsRefused() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 8), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "overlap")
      let mib = 1 << 20
      try await client.stream(
        file, session: session.id,
        chunks: [ChunkPlan(part: 1, offset: 0, length: mib), ChunkPlan(part: 1, offset: mib / 2, length: mib)])
      #expect(try await client.get(session.id).parts[0].receivedBytes == UInt64(mib + mib / 2))

      await #expect {
        try await client.stream(file, session: session.id, chunks: [ChunkPlan(part: 1, offset: 3 * mib, length: 10)])
      } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .failedPrecondition
          && error.metadata[stringValues: "uploader-expected-offset"].first(where: { _ in true }) == String(mib + mib / 2)
      }
      var rest = SessionsClient.chunks(of: file, part: 1, from: mib)
      rest[0].digest = Data(file.digest(ofPart: 1).bytes)
      try await client.stream(file, session: session.id, chunks: rest)
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
    #expect(try storedObject(data, "overlap") == file.bytes)
  }

  @Test func corruptedChunkIsDetectedAndThePartSentAgain() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 10, seed: 9), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "corrupt")
      var chunks = SessionsClient.chunks(of: file, part: 1)
      chunks[5].corrupt = true
      await #expect {
        try await client.stream(file, session: session.id, chunks: chunks)
      } throws: { ($0 as? RPCError)?.code == .dataLoss }
      let part = try await client.get(session.id).parts[0]
      #expect(part.receivedBytes == 0 && part.state == .receiving)

      try await client.stream(
        file, session: session.id,
        chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
    #expect(try storedObject(data, "corrupt") == file.bytes)
  }

  @Test func parallelStreamsOnDifferentParts() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(3 * Self.partSize + 3, seed: 10), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "parallel")
      try await withThrowingTaskGroup(of: Void.self) { group in
        for part in 1...4 {
          group.addTask {
            try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: part))
          }
        }
        try await group.waitForAll()
      }
      let parts = try await client.get(session.id).parts
      #expect(parts.allSatisfy { $0.state == .committed })
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
    #expect(try storedObject(data, "parallel") == file.bytes)
  }

  @Test func aNewerStreamTakesThePartOver() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 11), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "takeover")
      let chunks = SessionsClient.chunks(of: file, part: 1)
      // The old stream sends 4 chunks (1 MiB, acknowledged), then stalls as a half-open
      // connection would, while a newer stream takes the part over and finishes it.
      await #expect {
        try await client.stream(
          file, session: session.id, chunks: chunks, waitAfter: 4,
          resume: {
            let acknowledged = try await eventually {
              try await client.get(session.id).parts[0].receivedBytes == 1 << 20
            }
            #expect(acknowledged)
            let received = 1 << 20
            var rest = SessionsClient.chunks(of: file, part: 1, from: received)
            rest[0].digest = Data(file.digest(ofPart: 1).bytes)
            try await client.stream(file, session: session.id, chunks: rest)
          })
      } throws: { error in
        // The part is received by then: the old stream's next chunk is a duplicate or it is aborted.
        (error as? RPCError)?.code == .aborted
      }
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
    #expect(try storedObject(data, "takeover") == file.bytes)
  }

  @Test func completeChecksEveryPartDigest() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 5, seed: 12), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "digests")
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      await #expect {
        _ = try await client.complete(file, session: session.id)
      } throws: { error in
        (error as? RPCError)?.code == .failedPrecondition && (error as? RPCError)?.message.contains("missing 1 part") == true
      }
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 2))
      await #expect {
        _ = try await client.completeSession(.with {
          $0.sessionID = session.id
          $0.sha256 = Data(ContentHash.of(file.bytes).bytes)
          $0.partSha256S = [file.partDigests[0], Data(ContentHash.empty.bytes)]
        })
      } throws: { ($0 as? RPCError)?.code == .dataLoss }
      #expect(try await client.complete(file, session: session.id).state == .completed)
    }
  }

  @Test func abortIsIdempotentAndEndsTheSession() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(2 * Self.partSize, seed: 13), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "aborted")
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      let aborted = try await client.abortSession(.with { $0.sessionID = session.id }).session
      #expect(aborted.state == .aborted)
      #expect(try await client.abortSession(.with { $0.sessionID = session.id }).session.state == .aborted)
      await #expect {
        try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 2))
      } throws: { ($0 as? RPCError)?.code == .failedPrecondition }
      await #expect {
        _ = try await client.complete(file, session: session.id)
      } throws: { ($0 as? RPCError)?.code == .failedPrecondition }
      // The multipart upload is aborted in the background, at once.
      #expect(try await eventually { data.files(under: "store/uploads").isEmpty })
    }
    #expect(data.files(under: "spool").isEmpty)
  }

  @Test func idleSessionsExpireByTheInjectedClock() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let clock = TestClock()
    var configuration = configuration(data)
    configuration.sessions.now = { clock.now }
    configuration.sessions.sessionTTL = .seconds(3600)
    let file = TestFile(bytes: randomBytes(Self.partSize + 1, seed: 14), partSize: Self.partSize)
    try await withSessionsServer(configuration) { client, server in
      let idle = try await client.create(file, key: "idle")
      try await client.stream(file, session: idle.id, chunks: SessionsClient.chunks(of: file, part: 1))
      clock.advance(by: 1800)
      let busy = try await client.create(file, key: "busy")
      clock.advance(by: 1801)
      #expect(!data.files(under: "store/uploads").isEmpty, "part 1 of the idle session should be in the store")
      let expired = try await server.upkeep.expireIdleSessions()
      #expect(expired.map(\.id.rawValue) == [idle.id])
      #expect(try await client.get(idle.id).state == .expired)
      #expect(try await client.get(busy.id).state == .open)
      // The idle session's committed part 1 is gone from the store (in the background); the busy
      // one never had a part.
      #expect(try await eventually { data.files(under: "store/uploads").isEmpty })
    }
    #expect(data.files(under: "spool/sessions").isEmpty)
  }

  @Test func createIsIdempotentByKey() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 15), partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      let first = try await client.create(file, key: "idem", idempotencyKey: "k-1")
      let again = try await client.create(file, key: "idem", idempotencyKey: "k-1")
      #expect(first.id == again.id)
      let other = TestFile(bytes: randomBytes(Self.partSize + 1, seed: 15), partSize: Self.partSize)
      await #expect {
        _ = try await client.create(other, key: "idem", idempotencyKey: "k-1")
      } throws: { ($0 as? RPCError)?.code == .failedPrecondition }
    }
  }

  @Test func continuesAfterTheServerRestarts() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(2 * Self.partSize + 7, seed: 16), partSize: Self.partSize)
    let session = try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "restart")
      let log = StreamLog()
      await #expect(throws: (any Error).self) {
        try await client.stream(
          file, session: session.id,
          chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2), log: log,
          waitAfter: 26,
          resume: {
            let acknowledged = try await eventually { log.acknowledged(part: 2) >= 1 << 20 }
            #expect(acknowledged)
            throw ProducerGaveUp()
          })
      }
      return session.id
    }
    try await withSessionsServer(configuration(data)) { client, _ in
      let progress = try await client.get(session)
      // Part 1 is received, and committed unless the stream's end cancelled its upload (then
      // recovery or CompleteSession commits it).
      #expect([.received, .committed].contains(progress.parts[0].state))
      let received = Int(progress.parts[1].receivedBytes)
      #expect(received > 0)
      var rest = SessionsClient.chunks(of: file, part: 2, from: received)
      rest[0].digest = Data(file.digest(ofPart: 2).bytes)
      try await client.stream(file, session: session, chunks: rest + SessionsClient.chunks(of: file, part: 3))
      #expect(try await client.complete(file, session: session).state == .completed)
    }
    #expect(try storedObject(data, "restart") == file.bytes)
  }

  @Test func listsSessionsPageByPage() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: [], partSize: Self.partSize)
    try await withSessionsServer(configuration(data)) { client, _ in
      var created: [String] = []
      for index in 0..<5 { created.append(try await client.create(file, key: "empty-\(index)").id) }
      var seen: [String] = []
      var token = ""
      repeat {
        let page = try await client.listSessions(.with {
          $0.pageSize = 2
          $0.pageToken = token
        })
        #expect(page.sessions.count <= 2)
        seen += page.sessions.map(\.id)
        token = page.nextPageToken
      } while !token.isEmpty
      #expect(Set(seen) == Set(created) && seen.count == 5)
      // An empty object has no parts and completes into an empty file.
      #expect(try await client.complete(file, session: created[0]).state == .completed)
    }
    #expect(try storedObject(data, "empty-0").isEmpty)
  }

  @Test func recoveryResumesFromWhatTheSpoolHolds() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 9, seed: 17), partSize: Self.partSize)
    let session = try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: "truncated")
      let log = StreamLog()
      await #expect(throws: (any Error).self) {
        try await client.stream(
          file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: log, waitAfter: 8,
          resume: {
            let acknowledged = try await eventually { log.acknowledged(part: 1) >= 2 << 20 }
            #expect(acknowledged)
            throw ProducerGaveUp()
          })
      }
      return session.id
    }
    // The disk lost the tail of what SQLite recorded (say, a restored backup).
    let spoolFile = data.path + "/spool/sessions/\(session)/part-1"
    let handle = try #require(FileHandle(forWritingAtPath: spoolFile))
    try handle.truncate(atOffset: 512 << 10)
    try handle.close()

    try await withSessionsServer(configuration(data)) { client, _ in
      #expect(try await client.get(session).parts[0].receivedBytes == 512 << 10)
      var rest = SessionsClient.chunks(of: file, part: 1, from: 512 << 10)
      rest[0].digest = Data(file.digest(ofPart: 1).bytes)
      try await client.stream(file, session: session, chunks: rest + SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: session).state == .completed)
    }
    #expect(try storedObject(data, "truncated") == file.bytes)
  }

  /// Sends part 1 of a two-part file and stops the server; returns the session id and the
  /// directory the local store keeps the session's multipart upload in.
  func commitPartOneThenStop(_ data: TemporaryDirectory, _ file: TestFile, key: String) async throws
    -> (session: String, upload: String)
  {
    let session = try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await client.create(file, key: key)
      let log = StreamLog()
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: log)
      #expect(log.committedParts == [1])
      return session.id
    }
    let uploads = data.files(under: "store/uploads")
    #expect(uploads.count == 1 && uploads[0].hasSuffix("/1"), "\(uploads)")
    return (session, data.path + "/store/uploads/" + (uploads.first.map { String($0.dropLast(2)) } ?? ""))
  }

  @Test func recoverySendsAgainACommittedPartTheStoreNoLongerHolds() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 11, seed: 18), partSize: Self.partSize)
    let (session, upload) = try await commitPartOneThenStop(data, file, key: "lost-part")
    try FileManager.default.removeItem(atPath: upload + "/1")

    try await withSessionsServer(configuration(data)) { client, _ in
      let part = try await client.get(session).parts[0]
      #expect(part.state == .receiving && part.receivedBytes == 0)
      try await client.stream(
        file, session: session, chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: session).state == .completed)
    }
    #expect(try storedObject(data, "lost-part") == file.bytes)
  }

  @Test func recoveryAbortsASessionWhoseMultipartUploadVanished() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 11, seed: 19), partSize: Self.partSize)
    let (session, upload) = try await commitPartOneThenStop(data, file, key: "lost-upload")
    try FileManager.default.removeItem(atPath: upload)

    let state = try await withSessionsServer(configuration(data)) { client, _ in try await client.get(session).state }
    #expect(state == .aborted)
  }
}
