import Foundation
import GRPCCore
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// The original contract over a real loopback socket, with the local directory store.
@Suite struct FileUploaderServiceTests {
  @Test func multiPartStreamBecomesTheObject() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let bytes = randomBytes((12 << 20) + 12_345)
    let response = try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      try await client.upload(bytes, as: "dir/sub/file.bin", chunkSize: 300_000)
    }
    let digest = ContentHash.of(bytes)
    #expect(response.success)
    #expect(response.message == "stored dir/sub/file.bin (\(bytes.count) bytes, sha256 \(digest.hex))")
    let stored = try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/dir/sub/file.bin"))
    #expect(ContentHash.of(stored) == digest)
    #expect(data.files(under: "spool").isEmpty)
    #expect(data.files(under: "store/uploads").isEmpty)
  }

  @Test(arguments: [0, 1, 5 << 20, (5 << 20) + 1])
  func sizesAroundThePartBoundary(_ size: Int) async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let bytes = randomBytes(size, seed: UInt64(size))
    let response = try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      try await client.upload(bytes, as: "f")
    }
    #expect(response.success)
    #expect(response.message.contains("(\(size) bytes, sha256 \(ContentHash.of(bytes).hex))"))
    let stored = try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/f"))
    #expect(stored == Data(bytes))
  }

  @Test func laterMessagesMayOmitTheFilename() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let response = try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      try await client.upload { writer in
        try await writer.write(.with { $0.filename = "named-once"; $0.chunk = Data("abc".utf8) })
        try await writer.write(.with { $0.chunk = Data("def".utf8) })
      }
    }
    #expect(response.success)
    #expect(try String(contentsOfFile: data.path + "/store/objects/named-once", encoding: .utf8) == "abcdef")
  }

  @Test(arguments: ["", "../x", "/abs", "a/../../b", "nul\u{0}", String(repeating: "k", count: 2048)])
  func badKeysAreInvalidArgument(_ key: String) async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      await #expect {
        _ = try await client.upload(Array("x".utf8), as: key)
      } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .invalidArgument && error.message.contains("invalid object key")
          && error.metadata[stringValues: "uploader-error-code"].first(where: { _ in true }) == "INVALID_KEY"
      }
    }
    #expect(data.files(under: "store/objects").isEmpty)
  }

  @Test func changingFilenameMidStreamIsRefused() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      await #expect {
        _ = try await client.upload { writer in
          try await writer.write(.with { $0.filename = "one"; $0.chunk = Data(count: 10) })
          try await writer.write(.with { $0.filename = "two"; $0.chunk = Data(count: 10) })
        }
      } throws: { error in
        (error as? RPCError)?.code == .invalidArgument
          && (error as? RPCError)?.message.contains("changed filename") == true
      }
    }
    #expect(data.files(under: "store/objects").isEmpty)
  }

  @Test func streamWithoutMessagesIsInvalidArgument() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      await #expect {
        _ = try await client.upload { _ in }
      } throws: { ($0 as? RPCError)?.code == .invalidArgument }
    }
  }

  @Test func clientThatGivesUpLeavesNothingBehind() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      await #expect(throws: (any Error).self) {
        _ = try await client.upload(randomBytes(16 << 20), as: "partial", giveUpAfter: 12 << 20) {
          // Something to clean up first: parts in the spool or the store.
          let held = try await eventually(seconds: 30) {
            !data.files(under: "spool").isEmpty || !data.files(under: "store/uploads").isEmpty
          }
          try #require(held, "the server never held any of the 12 MiB sent")
        }
      }
      // The server cleans up after the client is gone.
      let cleaned = try await eventually {
        data.files(under: "store/uploads").isEmpty && data.files(under: "spool").isEmpty
      }
      #expect(cleaned)
    }
    #expect(!FileManager.default.fileExists(atPath: data.path + "/store/objects/partial"))
  }

  @Test func replacesAnExistingObjectWhole() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      _ = try await client.upload(randomBytes(6 << 20, seed: 1), as: "same")
      _ = try await client.upload(randomBytes(1000, seed: 2), as: "same")
    }
    let stored = try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/same"))
    #expect(stored == Data(randomBytes(1000, seed: 2)))
  }
}

/// The original contract runs on the session engine: each stream is a session of its caller.
@Suite struct OriginalContractSessionTests {
  @Test func aStreamIsRecordedAsACompletedSession() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let bytes = randomBytes((11 << 20) + 7, seed: 41)
    try await withSessionsServer(testConfiguration(dataDirectory: data.path)) { sessions, server in
      let response = try await withClient(of: server, token: nil) { client in
        try await UploaderClient(wrapping: client).upload(bytes, as: "recorded.bin", chunkSize: 1 << 20)
      }
      #expect(response.success)
      let listed = try await sessions.listSessions(.with { $0.pageSize = 10 }).sessions
      let session = try #require(listed.first { $0.key == "recorded.bin" })
      #expect(session.state == .completed && session.size == UInt64(bytes.count))
      #expect(session.sha256 == Data(ContentHash.of(bytes).bytes))
      // Three parts of the 5 MiB test plan.
      #expect(try await sessions.get(session.id).parts.map(\.size) == [5 << 20, 5 << 20, (1 << 20) + 7])
    }
  }

  @Test func aBrokenStreamAbortsItsSession() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withSessionsServer(testConfiguration(dataDirectory: data.path)) { sessions, server in
      let state = { @Sendable () async throws -> Uploader_V1_SessionState? in
        try await sessions.listSessions(.with { $0.pageSize = 10 }).sessions.first { $0.key == "broken.bin" }?.state
      }
      await #expect(throws: (any Error).self) {
        try await withClient(of: server, token: nil) { client in
          _ = try await UploaderClient(wrapping: client).upload(randomBytes(16 << 20), as: "broken.bin", giveUpAfter: 12 << 20) {
            // The stream reached the server: its session is open before the client gives up.
            try #require(try await eventually(seconds: 30) { try await state() == .open }, "no session was opened")
          }
        }
      }
      // The server learns of the broken stream when the transport tells it; under load that
      // can take a while, so the polls are as patient as the other give-up tests'.
      let aborted = try await eventually(seconds: 30) { try await state() == .aborted }
      let final = try await state()
      #expect(aborted, "the broken stream's session is \(String(describing: final)), not aborted")
      #expect(try await eventually(seconds: 30) { data.files(under: "store/uploads").isEmpty && data.files(under: "spool").isEmpty })
    }
    #expect(!FileManager.default.fileExists(atPath: data.path + "/store/objects/broken.bin"))
  }

  @Test func aStreamCutByARestartIsAbortedAtTheNextStart() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let configuration = testConfiguration(dataDirectory: data.path)
    // What a crash leaves: an open session of the original contract, with nobody to resume it.
    let id = try await withSessionsServer(configuration) { _, server in
      try await server.sessions.create(
        .init(key: "cut.bin", size: nil, origin: .originalContract), owner: .anonymous
      ).id.rawValue
    }
    let state = try await withSessionsServer(configuration) { sessions, _ in try await sessions.get(id).state }
    #expect(state == .aborted)
  }
}

