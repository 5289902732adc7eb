import AsyncHTTPClient
import Foundation
import GRPCCore
import S3
import Synchronization
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// Parts forwarded to a real S3 server (SeaweedFS) while they arrive, and the fallbacks to the
/// spool when a forward cannot finish.
@Suite(.enabled(if: TestS3.enabled), .serialized, .timeLimit(.minutes(3))) struct ForwardingTests {
  static let partSize = 5 << 20

  func withS3Server<T: Sendable>(
    _ name: String, forwardingPlaces: Int = SessionSettings().maximumForwardedParts,
    _ body: (SessionsClient, UploaderServer, S3Client) async throws -> T
  ) async throws -> T {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    return try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket(name, httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      configuration.sessions.acknowledgementBytes = 1 << 20
      configuration.sessions.maximumForwardedParts = forwardingPlaces
      return try await withSessionsServer(configuration) { client, server in try await body(client, server, s3) }
    }
  }

  @Test func partsSentInOneGoAreForwardedAndTheObjectIsExact() async throws {
    let file = TestFile(bytes: randomBytes(2 * Self.partSize + 4321, seed: 21), partSize: Self.partSize)
    try await withS3Server("forward") { client, server, s3 in
      let session = try await client.create(file, key: "forwarded.bin")
      let log = StreamLog()
      try await client.stream(
        file, session: session.id, chunks: (1...3).flatMap { SessionsClient.chunks(of: file, part: $0) }, log: log)
      #expect(log.committedParts == [1, 2, 3])
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "forwarded.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 3)
      #expect(counter("uploader_parts_committed_total", server) == 3)
      #expect(try await s3.listMultipartUploads().isEmpty)
    }
  }

  @Test func aPartLeftMidwayIsCommittedFromTheSpool() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize + 1000, seed: 22), partSize: Self.partSize)
    try await withS3Server("midway") { client, server, s3 in
      let session = try await client.create(file, key: "midway.bin")
      // Part of part 1, acknowledged, then the client dies: the forward is abandoned with the stream.
      _ = try await client.sendThenDie(file, session: session.id, part: 1, chunks: 10, acknowledged: 2 << 20)
      let received = Int(try await client.get(session.id).parts[0].receivedBytes)
      #expect(received > 0 && received < Self.partSize)
      let rest = SessionsClient.chunks(of: file, part: 1, from: received)
      try await client.stream(file, session: session.id, chunks: rest + SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "midway.bin") == ContentHash.of(file.bytes))
      // Part 1 resumed mid-way (from the spool), part 2 went in one go (forwarded).
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
      #expect(counter("uploader_parts_committed_total", server) == 2)
      #expect(try await s3.listMultipartUploads().isEmpty)
    }
  }

  @Test func aForwardTheStoreRefusesLeavesTheCommitToTheSpool() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 27), partSize: Self.partSize)
    try await withS3Server("refused") { client, server, s3 in
      let session = try await client.create(file, key: "refused.bin")
      // The forward starts with a wrong digest, so S3 refuses its body (BadDigest); the right one
      // comes with the last chunk (the latest declaration wins), and the part is verified by it.
      var chunks = SessionsClient.chunks(of: file, part: 1)
      chunks[chunks.count - 1].digest = chunks[0].digest
      chunks[0].digest = Data(ContentHash.of(Array("not this part".utf8)).bytes)
      try await client.stream(file, session: session.id, chunks: chunks)
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "refused.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 0)
      #expect(counter("uploader_parts_committed_total", server) == 1)
      #expect(metricsText(server).contains { $0.hasPrefix("uploader_object_store_errors_total{") && $0.contains("ForwardPart") })
    }
  }

  @Test func aNewerStreamThatTakesThePartOverKeepsItsForward() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 28), partSize: Self.partSize)
    try await withS3Server("takeover") { client, server, s3 in
      let session = try await client.create(file, key: "takeover.bin")
      // The old stream sends 1 MiB (acknowledged) and stalls like a half-open connection; a newer
      // stream takes the part over from there. The bytes keep coming in order, so the forward the
      // old stream started goes on and carries the part.
      await #expect {
        try await client.stream(
          file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), waitAfter: 4,
          resume: {
            let acknowledged = try await eventually { try await client.get(session.id).parts[0].receivedBytes == 1 << 20 }
            #expect(acknowledged)
            try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1, from: 1 << 20))
          })
      } throws: { ($0 as? RPCError)?.code == .aborted }
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "takeover.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
      #expect(counter("uploader_parts_committed_total", server) == 1)
    }
  }

  @Test func aCorruptedPartIsRefusedAndItsResendForwarded() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 23), partSize: Self.partSize)
    try await withS3Server("corrupt") { client, server, s3 in
      let session = try await client.create(file, key: "corrupt.bin")
      var chunks = SessionsClient.chunks(of: file, part: 1)
      chunks[7].corrupt = true
      await #expect {
        try await client.stream(file, session: session.id, chunks: chunks)
      } throws: { ($0 as? RPCError)?.code == .dataLoss }
      #expect(try await client.get(session.id).parts[0].receivedBytes == 0)
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "corrupt.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
    }
  }

  @Test func aDigestDeclaredLateMeansTheSpoolCommitsThePart() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 24), partSize: Self.partSize)
    try await withS3Server("nodigest") { client, server, s3 in
      let session = try await client.create(file, key: "nodigest.bin")
      // The digest comes with the last chunk: nothing to check a forward against when it began.
      var chunks = SessionsClient.chunks(of: file, part: 1)
      chunks[chunks.count - 1].digest = chunks[0].digest
      chunks[0].digest = Data()
      try await client.stream(file, session: session.id, chunks: chunks)
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "nodigest.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 0)
      #expect(counter("uploader_parts_committed_total", server) == 1)
    }
  }

  @Test func aPartThatFindsNoPlaceIsCommittedFromTheSpool() async throws {
    let file = TestFile(bytes: randomBytes(2 * Self.partSize, seed: 25), partSize: Self.partSize)
    try await withS3Server("noplace", forwardingPlaces: 1) { client, server, s3 in
      let session = try await client.create(file, key: "noplace.bin")
      // Part 1 holds the one place while part 2 starts on another stream.
      let chunks1 = SessionsClient.chunks(of: file, part: 1)
      let gate = AsyncGate()
      async let first: Void = client.stream(
        file, session: session.id, chunks: chunks1, waitAfter: chunks1.count - 1, resume: { await gate.wait() })
      let started = try await eventually { try await client.get(session.id).parts[0].receivedBytes > 0 }
      #expect(started)
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 2))
      gate.open()
      try await first
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "noplace.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
      #expect(counter("uploader_parts_committed_total", server) == 2)
    }
  }

  @Test func forwardsWaitingForTheirClientsLeaveConnectionsForEverythingElse() async throws {
    // More forwarded parts stall mid-part than AsyncHTTPClient's default 8 connections; a part
    // committed from the spool and a new session still need S3 meanwhile.
    let stalled = 9
    let file = TestFile(bytes: randomBytes((stalled + 1) * Self.partSize, seed: 29), partSize: Self.partSize)
    try await withS3Server("connections", forwardingPlaces: stalled) { client, server, s3 in
      let session = try await client.create(file, key: "connections.bin")
      let gate = AsyncGate()
      try await withThrowingTaskGroup(of: Void.self) { group in
        for part in 1...stalled {
          group.addTask {
            try await client.stream(
              file, session: session.id, chunks: SessionsClient.chunks(of: file, part: part), waitAfter: 4,
              resume: { await gate.wait() })
          }
        }
        let all = try await eventually(seconds: 90) {
          try await client.get(session.id).parts.prefix(stalled).allSatisfy { $0.receivedBytes >= 1 << 20 }
        }
        #expect(all)
        // No place is left: this part goes from the spool, and its commit needs a connection, as
        // does a new session. Without one they would wait for the stalled clients: the gate opens
        // either way afterwards, so a regression fails here instead of hanging.
        let log = StreamLog()
        let finished = Mutex(false)
        let others = Task {
          try await client.stream(
            file, session: session.id, chunks: SessionsClient.chunks(of: file, part: stalled + 1), log: log)
          _ = try await client.create(TestFile(bytes: [1, 2, 3], partSize: Self.partSize), key: "another.bin")
          finished.withLock { $0 = true }
        }
        let servedWhileStalled = try await eventually(seconds: 60) { finished.withLock { $0 } }
        #expect(servedWhileStalled, "a commit and a CreateSession waited for connections held by stalled forwards")
        gate.open()
        try await others.value
        #expect(log.committedParts == [stalled + 1])
        try await group.waitForAll()
      }
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "connections.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == stalled)
    }
  }

  @Test func zeroPlacesTurnsForwardingOff() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 26), partSize: Self.partSize)
    try await withS3Server("off", forwardingPlaces: 0) { client, server, s3 in
      let session = try await client.create(file, key: "off.bin")
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await s3.digest(ofObject: "off.bin") == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 0)
    }
  }


  /// A counter's value in the server's Prometheus registry (0 when absent).
  private func counter(_ name: String, _ server: UploaderServer) -> Int {
    let line = metricsText(server).first { $0.hasPrefix(name + " ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
  }

  /// The server's metrics as Prometheus text lines.
  private func metricsText(_ server: UploaderServer) -> [Substring] {
    String(decoding: server.metrics.registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
  }
}

/// Holds a task until opened.
final class AsyncGate: Sendable {
  private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

  func wait() async {
    await withCheckedContinuation { waiter in
      let open = state.withLock { state in
        if !state.open { state.waiters.append(waiter) }
        return state.open
      }
      if open { waiter.resume() }
    }
  }

  func open() {
    state.withLock { state in
      state.open = true
      defer { state.waiters = [] }
      return state.waiters
    }.forEach { $0.resume() }
  }
}
