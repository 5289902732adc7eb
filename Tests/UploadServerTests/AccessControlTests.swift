import Foundation
import GRPCCore
import TestSupport
import Testing
import UploadCore
import UploadProtocol
@testable import UploadServer

/// Tokens, session ownership, key prefixes and limits, over a real loopback socket.
@Suite struct AccessControlTests {
  static let partSize = 5 << 20

  func configuration(_ data: TemporaryDirectory, tokens: [(String, String)] = [("alice", "alice-token"), ("bob", "bob-token")])
    throws -> ServerConfiguration
  {
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.tokensFile = data.path + "/tokens"
    try writeTokensFile(data.path + "/tokens", tokens)
    return configuration
  }

  func code(_ body: () async throws -> Void) async -> RPCError.Code? {
    do {
      try await body()
      return nil
    } catch let error as RPCError {
      return error.code
    } catch {
      return nil
    }
  }

  @Test func callsNeedAKnownTokenButHealthChecksDoNot() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(1000), partSize: Self.partSize)
    try await withRunningServer(try configuration(data)) { server throws in
      for token in [nil, "mallory-token", ""] as [String?] {
        try await withClient(of: server, token: token) { client throws in
          #expect(await code { _ = try await SessionsClient(wrapping: client).create(file, key: "k") } == .unauthenticated)
          #expect(await code { _ = try await UploaderClient(wrapping: client).upload([1, 2, 3], as: "k") } == .unauthenticated)
          let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
          #expect(health.status == .serving)
        }
      }
      try await withClient(of: server, token: "alice-token") { client throws in
        #expect(try await SessionsClient(wrapping: client).create(file, key: "k").state == .open)
        #expect(try await UploaderClient(wrapping: client).upload([1, 2, 3], as: "k2").success)
      }
    }
  }

  @Test func anotherPrincipalsSessionIsNotFoundEverywhere() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(Self.partSize + 10, seed: 3), partSize: Self.partSize)
    try await withRunningServer(try configuration(data)) { server throws in
      let session = try await withClient(of: server, token: "alice-token") { client throws in
        let alice = SessionsClient(wrapping: client)
        let session = try await alice.create(file, key: "alice.bin")
        try await alice.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
        return session
      }
      try await withClient(of: server, token: "bob-token") { client throws in
        let bob = SessionsClient(wrapping: client)
        let id = session.id
        let unknown = String(repeating: "0", count: 32)
        var messages: [String] = []
        for sessionID in [id, unknown] {
          do {
            _ = try await bob.get(sessionID)
          } catch let error as RPCError {
            #expect(error.code == .notFound)
            messages.append(error.message.replacingOccurrences(of: sessionID, with: "ID"))
          }
        }
        #expect(messages.count == 2 && messages[0] == messages[1], "bob cannot tell alice's session from none")
        #expect(await code { _ = try await bob.abortSession(.with { $0.sessionID = id }) } == .notFound)
        #expect(await code { _ = try await bob.complete(file, session: id) } == .notFound)
        #expect(
          await code { try await bob.stream(file, session: id, chunks: SessionsClient.chunks(of: file, part: 2)) }
            == .notFound)
        #expect(try await bob.listSessions(.init()).sessions.isEmpty)
      }
      try await withClient(of: server, token: "alice-token") { client throws in
        let alice = SessionsClient(wrapping: client)
        #expect(try await alice.listSessions(.init()).sessions.map(\.id) == [session.id])
        try await alice.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 2))
        #expect(try await alice.complete(file, session: session.id).state == .completed)
      }
    }
    let stored = try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/alice.bin"))
    #expect(Array(stored) == file.bytes)
  }

  @Test func keysGoUnderThePrincipalsPrefix() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = try configuration(data)
    configuration.sessions.keyPlacement = KeyPlacement(prefixPerPrincipal: true)
    let file = TestFile(bytes: randomBytes(100, seed: 4), partSize: Self.partSize)
    try await withRunningServer(configuration) { server throws in
      for (token, content) in [("alice-token", [UInt8](repeating: 1, count: 10)), ("bob-token", [2, 2])] {
        try await withClient(of: server, token: token) { client throws in
          #expect(try await UploaderClient(wrapping: client).upload(content, as: "same.bin").success)
        }
      }
      try await withClient(of: server, token: "bob-token") { client throws in
        let bob = SessionsClient(wrapping: client)
        let session = try await bob.create(file, key: "doc.bin")
        #expect(session.key == "bob/doc.bin")
        try await bob.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
        _ = try await bob.complete(file, session: session.id)
        #expect(await code { _ = try await bob.create(file, key: "../alice/doc.bin") } == .invalidArgument)
      }
    }
    #expect(data.files(under: "store/objects") == ["alice/same.bin", "bob/doc.bin", "bob/same.bin"])
  }

  @Test func limitsOpenSessionsPerPrincipal() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = try configuration(data)
    configuration.sessions.maximumOpenSessionsPerPrincipal = 2
    let file = TestFile(bytes: randomBytes(100), partSize: Self.partSize)
    try await withRunningServer(configuration) { server throws in
      try await withClient(of: server, token: "alice-token") { client throws in
        let alice = SessionsClient(wrapping: client)
        let first = try await alice.create(file, key: "a1")
        _ = try await alice.create(file, key: "a2", idempotencyKey: "k")
        #expect(await code { _ = try await alice.create(file, key: "a3") } == .resourceExhausted)
        // A retry of a create that succeeded is no new session.
        #expect(try await alice.create(file, key: "a2", idempotencyKey: "k").state == .open)
        _ = try await alice.abortSession(.with { $0.sessionID = first.id })
        #expect(try await alice.create(file, key: "a3").state == .open)
      }
      try await withClient(of: server, token: "bob-token") { client throws in
        #expect(try await SessionsClient(wrapping: client).create(file, key: "b1").state == .open)
      }
    }
  }

  @Test func reloadedTokensTakeEffectWithoutARestart() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let file = TestFile(bytes: randomBytes(10), partSize: Self.partSize)
    try await withRunningServer(try configuration(data)) { server throws in
      try writeTokensFile(data.path + "/tokens", [("carol", "carol-token")])
      try await server.access.reload()
      for (token, expected) in [("carol-token", nil), ("alice-token", RPCError.Code.unauthenticated)] {
        try await withClient(of: server, token: token) { client throws in
          #expect(await code { _ = try await SessionsClient(wrapping: client).create(file, key: "k") } == expected)
        }
      }
      try "carol not-a-digest\n".write(toFile: data.path + "/tokens", atomically: true, encoding: .utf8)
      await #expect(throws: UploadError.self) { try await server.access.reload() }
      try await withClient(of: server, token: "carol-token") { client throws in
        #expect(try await SessionsClient(wrapping: client).create(file, key: "k2").state == .open)
      }
    }
  }

  @Test func refusesToListenBeyondLoopbackWithoutTokens() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.host = "0.0.0.0"
    await #expect {
      _ = try await UploaderServer(configuration: configuration, logger: quietLogger)
    } throws: { error in
      (error as? UploadError)?.message.contains("--allow-unauthenticated") == true
    }
    configuration.allowUnauthenticated = true
    try await withRunningServer(configuration) { server throws in
      #expect(try await server.listeningAddress.port > 0)
    }
  }

  @Test func endsAStreamThatSendsNothingAndKeepsWhatItSent() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.idleStreamTimeout = .seconds(1)
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 9), partSize: Self.partSize)
    try await withSessionsServer(configuration) { client, _ in
      let session = try await client.create(file, key: "idle.bin")
      let chunks = SessionsClient.chunks(of: file, part: 1)
      await #expect {
        try await client.stream(file, session: session.id, chunks: chunks, waitAfter: 4) {
          try await Task.sleep(for: .seconds(30))
        }
      } throws: { error in
        (error as? RPCError)?.code == .deadlineExceeded
      }
      // What it sent becomes durable as the call ends (the handler's flush runs in a task of its own).
      #expect(try await eventually { try await client.get(session.id).parts[0].receivedBytes == 4 << 18 })
    }
  }

  @Test func limitsConcurrentUploadStreams() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.maximumStreams = 1
    // Long enough that the held stream is never ended as idle while the test, starved of CPU in a
    // loaded run, gets to its second stream: a run once took 20 s, the first stream timed out,
    // its place was free and the second was let in.
    configuration.idleStreamTimeout = .seconds(300)
    let file = TestFile(bytes: randomBytes(Self.partSize, seed: 10), partSize: Self.partSize)
    try await withSessionsServer(configuration) { client, server in
      let session = try await client.create(file, key: "busy.bin")
      let (holding, hold) = AsyncStream.makeStream(of: Void.self)
      let (release, releaseNow) = AsyncStream.makeStream(of: Void.self)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await client.stream(
            file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), waitAfter: 1
          ) {
            hold.yield()
            for await _ in release { break }
          }
        }
        for await _ in holding { break }
        // The first chunk left the client; once the server has admitted its stream, the limit
        // is reached (under load, the second stream could otherwise reach the server first).
        #expect(try await eventually { server.streamLimit.runningStreams == 1 })
        try await withClient(of: server, token: nil) { other throws in
          let second = SessionsClient(wrapping: other)
          let refused = await code { try await second.stream(file, session: session.id, chunks: []) }
          #expect(
            refused == .resourceExhausted,
            "got \(String(describing: refused)); upload streams running now: \(server.streamLimit.runningStreams)")
          #expect(try await second.get(session.id).state == .open, "unary calls still pass")
        }
        releaseNow.yield()
        try await group.waitForAll()
      }
      #expect(try await client.get(session.id).parts[0].state == .committed)
    }
  }
}
