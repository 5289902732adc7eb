import Foundation
import GRPCCore
import Synchronization
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// Two servers ("node-a", "node-b") on one session database and one object store, each with
/// its own spool, as two replicas are: a part moves between them through the database.
@Suite struct ReplicaSessionTests {
  func withTwoNodes(_ body: (SessionsClient, SessionsClient, TemporaryDirectory) async throws -> Void) async throws {
    let shared = try TemporaryDirectory()
    defer { shared.remove() }
    func start(_ node: String) async throws -> UploaderServer {
      var configuration = testConfiguration(dataDirectory: shared.path + "/" + node)
      configuration.nodeID = node
      configuration.sessions.acknowledgementBytes = 1 << 20
      let stores = ServerStores(
        sessions: try SQLSessionStore.sqlite(path: shared.path + "/sessions.sqlite", node: node),
        objects: LocalDirectoryStore(root: shared.path + "/store"))
      return try await UploaderServer(configuration: configuration, stores: stores, logger: quietLogger)
    }
    let a = try await start("node-a")
    let b = try await start("node-b")
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await a.run() }
      group.addTask { try await b.run() }
      defer { group.cancelAll() }
      try await withClient(of: a, token: nil) { clientA in
        try await withClient(of: b, token: nil) { clientB in
          try await body(SessionsClient(wrapping: clientA), SessionsClient(wrapping: clientB), shared)
        }
      }
    }
  }

  @Test func aPartTakenOverByAnotherNodeStartsThereFromZeroAndTheOldNodeIsFenced() async throws {
    try await withTwoNodes { a, b, shared in
      let file = TestFile(bytes: randomBytes(10 << 20), partSize: 5 << 20)
      let session = try await a.create(file, key: "moved")
      let onA = StreamLog()
      // A failure here surfaces as node-a's stream failing: keep it, to report it as itself.
      let failedOnB = Mutex<String?>(nil)
      @Sendable func continueOnB() async throws {
        do {
          // This runs inside node-a's stream, which node-a may end (PART_TAKEN_OVER) while
          // node-b still sends; that cancels node-a's stream, and must not cancel node-b's.
          try await Task { try await sendOnB() }.value
        } catch {
          failedOnB.withLock { $0 = "\(error)" }
          throw error
        }
      }
      @Sendable func sendOnB() async throws {
        #expect(try await eventually(seconds: 30) { onA.acknowledged(part: 1) >= 1 << 20 })
        #expect(try await b.get(session.id).parts[0].receivedBytes >= 1 << 20)

        // node-b cannot read node-a's spool: it wants the part from 0.
        let gap = await #expect(throws: RPCError.self) {
          try await b.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1, from: 1 << 20))
        }
        #expect(gap?.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true }) == "OFFSET_GAP")
        #expect(gap?.metadata[stringValues: ErrorMetadata.expectedOffset].first(where: { _ in true }) == "0")

        let onB = StreamLog()
        try await b.stream(
          file, session: session.id,
          chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2), log: onB)
        #expect(onB.committedParts == [1, 2])
      }
      // Part 1 goes to node-a until 1 MiB is acknowledged; then the client continues on node-b,
      // and node-a's stream goes on sending.
      let refused = await #expect(throws: RPCError.self) {
        try await a.stream(
          file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1), log: onA, waitAfter: 8,
          resume: continueOnB)
      }
      #expect(failedOnB.withLock { $0 } == nil, "node-b's streams failed")
      // node-a's writer was taken over: what it still had to write was refused by the database.
      #expect(refused?.code == .aborted)
      #expect(refused?.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true }) == "PART_TAKEN_OVER")

      let completed = try await a.complete(file, session: session.id)
      #expect(completed.state == .completed)
      #expect(Array(try Data(contentsOf: URL(fileURLWithPath: shared.path + "/store/objects/moved"))) == file.bytes)
    }
  }
}
