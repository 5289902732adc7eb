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
@Suite(.enabled(if: TestS3.enabled)) struct ForwardingTests {
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
      #expect(try await digest(of: "forwarded.bin", in: s3) == ContentHash.of(file.bytes))
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
      let first = StreamLog()
      await #expect(throws: (any Error).self) {
        try await client.stream(
          file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: first, waitAfter: 10,
          resume: {
            let acknowledged = try await eventually { first.acknowledged(part: 1) >= 2 << 20 }
            #expect(acknowledged)
            throw ProducerGaveUp()
          })
      }
      let received = Int(try await client.get(session.id).parts[0].receivedBytes)
      #expect(received > 0 && received < Self.partSize)
      var rest = SessionsClient.chunks(of: file, part: 1, from: received)
      rest[0].digest = Data(file.digest(ofPart: 1).bytes)
      try await client.stream(file, session: session.id, chunks: rest + SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await digest(of: "midway.bin", in: s3) == ContentHash.of(file.bytes))
      // Part 1 resumed mid-way (from the spool), part 2 went in one go (forwarded).
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
      #expect(counter("uploader_parts_committed_total", server) == 2)
      #expect(try await s3.listMultipartUploads().isEmpty)
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
      #expect(try await digest(of: "corrupt.bin", in: s3) == ContentHash.of(file.bytes))
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
      #expect(try await digest(of: "nodigest.bin", in: s3) == ContentHash.of(file.bytes))
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
      #expect(try await digest(of: "noplace.bin", in: s3) == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 1)
      #expect(counter("uploader_parts_committed_total", server) == 2)
    }
  }

  @Test func zeroPlacesTurnsForwardingOff() async throws {
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 26), partSize: Self.partSize)
    try await withS3Server("off", forwardingPlaces: 0) { client, server, s3 in
      let session = try await client.create(file, key: "off.bin")
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      #expect(try await client.complete(file, session: session.id).state == .completed)
      #expect(try await digest(of: "off.bin", in: s3) == ContentHash.of(file.bytes))
      #expect(counter("uploader_parts_forwarded_total", server) == 0)
    }
  }

  private func digest(of key: String, in s3: S3Client) async throws -> ContentHash {
    var bytes: [UInt8] = []
    try await s3.getObject(key: key) { bytes.append(contentsOf: $0.readableBytesView) }
    return ContentHash.of(bytes)
  }

  /// A counter's value in the server's Prometheus registry (0 when absent).
  private func counter(_ name: String, _ server: UploaderServer) -> Int {
    var buffer: [UInt8] = []
    server.metrics.registry.emit(into: &buffer)
    let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
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
