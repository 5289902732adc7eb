import Foundation
import Logging
import NIOCore
import NIOFileSystem
import TestSupport
import Testing
import UploadCore

@testable import UploadServer

/// `WholeObjectReceiver.uploadObject`, a small object in one step, on a real SQLite file, a real
/// spool and the real local directory store.
/// Expects `body` to throw an `UploadError` with `code`.
func expect(
  throwsCode code: UploadError.Code, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws -> some Any
) async {
  let error = await #expect(throws: UploadError.self, sourceLocation: sourceLocation) { try await body() }
  #expect(error?.code == code, sourceLocation: sourceLocation)
}

@Suite struct WholeObjectReceiverTests {
  let directory: TemporaryDirectory
  let engine: SessionCoordinator
  let store: SQLSessionStore
  var receiver: WholeObjectReceiver { WholeObjectReceiver(sessions: engine) }

  init() async throws {
    directory = try TemporaryDirectory()
    let objects = LocalDirectoryStore(root: directory.path + "/store")
    try await objects.checkAvailability()
    store = try SQLSessionStore.sqlite(path: directory.path + "/sessions.sqlite")
    engine = SessionCoordinator(
      store: store, objectStore: objects, spool: Spool(root: directory.path + "/spool"), settings: SessionSettings(),
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  func object(_ key: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/store/objects/" + key)))
  }

  /// What is left under the store's uploads directory and the spool.
  func leftovers() throws -> [String] {
    let files = FileManager.default
    return try ["/store/uploads", "/spool"].flatMap { sub in
      files.fileExists(atPath: directory.path + sub) ? try files.contentsOfDirectory(atPath: directory.path + sub) : []
    }
  }

  @Test func storesTheObjectAndRecordsItCompletedWithItsPartCommitted() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(40_000, seed: 3)
    let session = try await receiver.uploadObject(
      .init(key: "small/a.bin", size: Int64(bytes.count), contentType: "image/png", metadata: ["camera": "x100"]),
      bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)

    #expect(session.state == .completed)
    #expect(session.sha256 == .of(bytes))
    #expect(session.storageUploadID == nil)
    #expect(try await store.session(session.id) == session)
    let parts = try await store.parts(of: session.id)
    #expect(parts.map(\.state) == [.committed])
    #expect(parts.map(\.sha256) == [.of(bytes)])
    #expect(try object("small/a.bin") == bytes)
    #expect(try leftovers().isEmpty)
  }

  /// The object a multipart session makes of the same bytes carries the same attributes.
  @Test func theObjectHasTheAttributesOfTheMultipartPath() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(1_000, seed: 4)
    let request = SessionCoordinator.CreateRequest(
      key: "one.txt", size: Int64(bytes.count), contentType: "text/plain", metadata: ["owner": "ops", "n": "1"])
    _ = try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)

    var multipart = request
    multipart.key = "many.txt"
    let session = try await engine.create(multipart, owner: .anonymous)
    try await SessionReceiver(sessions: engine).receive(
      [
        SessionReceiver.Chunk(
          sessionID: session.id.rawValue, partNumber: 1, offset: 0, data: Data(bytes), last: true,
          partSHA256: Data(ContentHash.of(bytes).bytes))
      ].async, owner: .anonymous
    ) { _, _ in }
    _ = try await engine.complete(session.id, owner: .anonymous, sha256: .of(bytes), partSHA256s: [.of(bytes)])

    let whole = try await ExtendedAttributes.read(FilePath(directory.path + "/store/objects/one.txt"))
    let assembled = try await ExtendedAttributes.read(FilePath(directory.path + "/store/objects/many.txt"))
    #expect(whole == assembled)
    #expect(whole.contentType == "text/plain")
    #expect(try object("one.txt") == object("many.txt"))
  }

  @Test func aRetryReturnsTheSessionAndOtherBytesUnderTheSameKeyConflict() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(5_000, seed: 5)
    let request = SessionCoordinator.CreateRequest(key: "retry.bin", size: 5_000, idempotencyKey: "upload-1")
    let first = try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    let again = try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    #expect(again.id == first.id)
    #expect(try await store.sessions(in: [.completed]).count == 1)

    let other = randomBytes(5_000, seed: 6)
    await expect(throwsCode: .idempotencyConflict) {
      try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: other), sha256: .of(other), owner: .anonymous)
    }
    #expect(try object("retry.bin") == bytes)
  }

  @Test func bytesThatDoNotMatchTheirDigestLeaveNothing() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(5_000, seed: 7)
    await expect(throwsCode: .digestMismatch) {
      try await receiver.uploadObject(
        .init(key: "bad.bin", size: 5_000), bytes: ByteBuffer(bytes: bytes), sha256: .of(Array(bytes.dropLast())),
        owner: .anonymous)
    }
    await expect(throwsCode: .invalidRequest) {
      try await receiver.uploadObject(
        .init(key: "bad.bin", size: 4_000), bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    }
    #expect(try await store.sessions(in: Set(SessionState.allCases)).isEmpty)
    #expect(!FileManager.default.fileExists(atPath: directory.path + "/store/objects/bad.bin"))
  }

  /// A store that fails part-way leaves no session, no spool file and no staged file; the
  /// retry stores and records the object.
  @Test func aStoreFailureLeavesNothingBehindAndTheRetryCompletes() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(3_000, seed: 8)
    // A file where the key's directory has to be: the store cannot put the object there.
    FileManager.default.createFile(atPath: directory.path + "/store/objects/blocked", contents: Data())
    let request = SessionCoordinator.CreateRequest(key: "blocked/x.bin", size: 3_000, idempotencyKey: "upload-2")
    await #expect(throws: UploadError.self) {
      try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    }
    #expect(try await store.sessions(in: Set(SessionState.allCases)).isEmpty)
    #expect(try leftovers().isEmpty)

    try FileManager.default.removeItem(atPath: directory.path + "/store/objects/blocked")
    let session = try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    #expect(session.state == .completed)
    #expect(try object("blocked/x.bin") == bytes)
  }

  @Test func aSessionBegunByCreateSessionIsInProgress() async throws {
    defer { directory.remove() }
    let bytes = randomBytes(2_000, seed: 9)
    let request = SessionCoordinator.CreateRequest(key: "begun.bin", size: 2_000, idempotencyKey: "upload-3")
    let begun = try await engine.create(request, owner: .anonymous)
    await expect(throwsCode: .sessionInProgress) {
      try await receiver.uploadObject(request, bytes: ByteBuffer(bytes: bytes), sha256: .of(bytes), owner: .anonymous)
    }
    #expect(try await store.session(begun.id)?.state == .open)
  }

  @Test func anEmptyObjectHasNoParts() async throws {
    defer { directory.remove() }
    let session = try await receiver.uploadObject(
      .init(key: "empty", size: 0), bytes: ByteBuffer(), sha256: .empty, owner: .anonymous)
    #expect(session.state == .completed)
    #expect(try await store.parts(of: session.id).isEmpty)
    #expect(try object("empty").isEmpty)
  }

  /// Objects of one call each get their own result, in order: a bad one does not stop the others.
  @Test func objectsOfOneCallEachGetTheirOwnResult() async throws {
    defer { directory.remove() }
    let (a, b, c) = (randomBytes(1_000, seed: 20), randomBytes(2_000, seed: 21), randomBytes(3_000, seed: 22))
    let before = try await receiver.uploadObject(
      .init(key: "before", size: 3_000, idempotencyKey: "k-c"), bytes: ByteBuffer(bytes: c), sha256: .of(c), owner: .anonymous)
    _ = try await engine.create(.init(key: "begun", size: 10, idempotencyKey: "k-begun"), owner: .anonymous)
    let objects: [WholeObjectReceiver.Object] = [
      .init(.init(key: "a", size: 1_000, idempotencyKey: "k-a"), bytes: ByteBuffer(bytes: a), sha256: .of(a)),
      .init(.init(key: "bad", size: 2_000), bytes: ByteBuffer(bytes: b), sha256: .of(a)),
      .init(.init(key: "before", size: 3_000, idempotencyKey: "k-c"), bytes: ByteBuffer(bytes: c), sha256: .of(c)),
      .init(.init(key: "b", size: 2_000), bytes: ByteBuffer(bytes: b), sha256: .of(b)),
      .init(.init(key: "begun", size: 10, idempotencyKey: "k-begun"), bytes: ByteBuffer(bytes: a[..<10]), sha256: .of(Array(a[..<10]))),
    ]
    let results = try await receiver.uploadObjects(objects, owner: .anonymous)
    #expect(results.count == 5)
    #expect(try results[0].get().key.rawValue == "a")
    #expect(results[1].failureCode == .digestMismatch)
    #expect(try results[2].get().id == before.id, "a retry gets the session stored before")
    #expect(try results[3].get().state == .completed)
    #expect(results[4].failureCode == .sessionInProgress)
    #expect(try object("a") == a)
    #expect(try object("b") == b)
    #expect(!FileManager.default.fileExists(atPath: directory.path + "/store/objects/bad"))
    #expect(try await store.sessions(in: [.completed]).count == 3)

    await expect(throwsCode: .invalidRequest) { try await receiver.uploadObjects([], owner: .anonymous) }
  }
}

extension Result where Failure == UploadError {
  /// The error's code, or nil for a success.
  var failureCode: UploadError.Code? {
    if case .failure(let error) = self { return error.code }
    return nil
  }
}
