import Foundation
import Logging
import NIOFileSystem
import Synchronization
import TestSupport
import Testing
import UploadCore

@testable import UploadServer

/// The engine's resume rules, driven directly: no gRPC server and no socket, but a real
/// SQLite file, a real spool and the real local directory store, so each test runs in well
/// under a second. A "crash" is a new engine on the same files, which is what a restarted
/// server is.
@Suite struct SessionEngineTests {
  static let partSize = 5 << 20

  /// An engine over the files under `directory`.
  func engine(_ directory: TemporaryDirectory) async throws -> SessionCoordinator {
    try await engine(directory, spool: directory.path + "/spool")
  }

  /// An engine over the files under `directory`, with its spool at `spool`.
  func engine(_ directory: TemporaryDirectory, spool: String) async throws -> SessionCoordinator {
    var settings = SessionSettings()
    settings.acknowledgementBytes = 1 << 20
    let objects = LocalDirectoryStore(root: directory.path + "/store")
    try await objects.checkAvailability()
    let store = try SQLSessionStore.sqlite(path: directory.path + "/sessions.sqlite")
    return SessionCoordinator(
      store: store,
      objectStore: objects, spool: Spool(root: spool),
      settings: settings, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  /// The chunks of `part` of `bytes` from `offset`, 256 KiB each, the part's digest on the first.
  func chunks(_ bytes: [UInt8], session: SessionID, part: Int, from offset: Int = 0) -> [SessionReceiver.Chunk] {
    let start = (part - 1) * Self.partSize
    let size = min(Self.partSize, bytes.count - start)
    let digest = Data(ContentHash.of(Array(bytes[start..<(start + size)])).bytes)
    return stride(from: offset, to: size, by: 256 << 10).map { at in
      let length = min(256 << 10, size - at)
      return SessionReceiver.Chunk(
        sessionID: session.rawValue, partNumber: part, offset: Int64(at),
        data: Data(bytes[(start + at)..<(start + at + length)]), last: at + length == size, partSHA256: digest)
    }
  }

  /// Receives `chunks` on one stream; returns the bytes of each part reported durable.
  @discardableResult
  func send(_ chunks: [SessionReceiver.Chunk], to engine: SessionCoordinator) async throws -> [Int: Int64] {
    let durable = Mutex<[Int: Int64]>([:])
    try await SessionReceiver(sessions: engine).receive(chunks.async, owner: .anonymous) { event, _ in
      if case .progress(let part, let bytes) = event { durable.withLock { $0[part] = max($0[part] ?? 0, bytes) } }
    }
    return durable.withLock { $0 }
  }

  func digests(_ bytes: [UInt8]) -> [ContentHash] {
    stride(from: 0, to: bytes.count, by: Self.partSize).map {
      ContentHash.of(Array(bytes[$0..<min($0 + Self.partSize, bytes.count)]))
    }
  }

  /// Completes `session` on `engine`, and checks that the stored object is `bytes`.
  func completes(_ session: SessionRecord, of bytes: [UInt8], on engine: SessionCoordinator, in directory: TemporaryDirectory)
    async throws
  {
    let done = try await engine.complete(session.id, owner: .anonymous, sha256: .of(bytes), partSHA256s: digests(bytes))
    #expect(done.state == .completed)
    let stored = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/store/objects/" + session.key.rawValue))
    #expect(Array(stored) == bytes)
  }

  @Test func aGapNamesTheOffsetToSendFromAndAnOverlapIsSkipped() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let engine = try await engine(directory)
    let bytes = randomBytes(Self.partSize + 1000, seed: 1)
    let session = try await engine.create(.init(key: "gap", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
    let part1 = chunks(bytes, session: session.id, part: 1)

    let gap = await #expect(throws: UploadError.self) { try await send(Array(part1[2...]), to: engine) }
    #expect(gap?.code == .offsetGap)
    #expect(gap?.expectedOffset == 0)

    try await send(Array(part1[..<6]), to: engine)
    // Chunks 4 and 5 again, then the rest: the overlap is skipped, not appended twice.
    try await send(Array(part1[4...]) + chunks(bytes, session: session.id, part: 2), to: engine)
    try await completes(session, of: bytes, on: engine, in: directory)
  }

  @Test func aNewerStreamTakesThePartOverAndTheOlderOneIsRefused() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let engine = try await engine(directory)
    let bytes = randomBytes(Self.partSize, seed: 2)
    let session = try await engine.create(.init(key: "taken", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
    let part = chunks(bytes, session: session.id, part: 1)

    // The older stream sends 8 chunks and stays open, as a half-open connection does.
    let (older, feed) = AsyncStream<SessionReceiver.Chunk>.makeStream()
    let durable = Mutex<Int64>(0)
    let olderStream = Task {
      try await SessionReceiver(sessions: engine).receive(older, owner: .anonymous) { event, _ in
        if case .progress(_, let bytes) = event { durable.withLock { $0 = max($0, bytes) } }
      }
    }
    for chunk in part[..<8] { feed.yield(chunk) }
    #expect(try await eventually { durable.withLock { $0 } >= 1 << 20 })

    // The newer stream resumes from what is durable and finishes the part.
    let from = Int(try await engine.parts(of: session.id)[0].receivedBytes)
    #expect(from >= 1 << 20)
    try await send(chunks(bytes, session: session.id, part: 1, from: from), to: engine)

    // The older stream's next chunk is refused: the part has a newer writer.
    feed.yield(part[8])
    feed.finish()
    let refused = await #expect(throws: UploadError.self) { try await olderStream.value }
    #expect(refused?.code == .partTakenOver)

    try await completes(session, of: bytes, on: engine, in: directory)
  }

  @Test func afterACrashTheSessionContinuesFromTheDurableOffset() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let bytes = randomBytes(2 * Self.partSize + 7, seed: 3)
    let session: SessionRecord
    let acknowledged: Int64
    do {
      let before = try await engine(directory)
      session = try await before.create(.init(key: "crash", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
      try await send(chunks(bytes, session: session.id, part: 1), to: before)
      acknowledged = try await send(Array(chunks(bytes, session: session.id, part: 2)[..<10]), to: before)[2] ?? 0
      #expect(acknowledged >= 1 << 20)
      // The server stops without completing anything: its spool files are closed, and what
      // was not acknowledged may be lost.
      await before.shutdown()
    }
    // A new engine on the same files is what a restarted server is.
    let after = try await engine(directory)
    try await SessionUpkeep(sessions: after).recover()
    let parts = try await after.parts(of: session.id)
    #expect([.received, .committed].contains(parts[0].state))
    #expect(parts[1].receivedBytes == acknowledged, "the database and the spool agree on what is durable")

    try await send(
      chunks(bytes, session: session.id, part: 2, from: Int(acknowledged)) + chunks(bytes, session: session.id, part: 3),
      to: after)
    try await completes(session, of: bytes, on: after, in: directory)
  }

  @Test func aPartTheObjectStoreLostIsReceivedAgain() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let before = try await engine(directory)
    let bytes = randomBytes(Self.partSize + 10, seed: 4)
    let session = try await before.create(.init(key: "lost", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
    try await send(chunks(bytes, session: session.id, part: 1), to: before)
    await SessionUpkeep(sessions: before).commitReceivedParts()
    #expect(try await before.parts(of: session.id)[0].state == .committed)

    // While the server is down, the store loses the part (a lifecycle rule, an operator):
    // recovery at the next start notices it.
    let uploads = directory.path + "/store/uploads"
    for upload in try FileManager.default.contentsOfDirectory(atPath: uploads) {
      try FileManager.default.removeItem(atPath: "\(uploads)/\(upload)/1")
    }
    let engine = try await engine(directory)
    try await SessionUpkeep(sessions: engine).recover()
    let part = try await engine.parts(of: session.id)[0]
    #expect(part.state == .receiving)
    #expect(part.receivedBytes == 0)

    try await send(chunks(bytes, session: session.id, part: 1) + chunks(bytes, session: session.id, part: 2), to: engine)
    try await completes(session, of: bytes, on: engine, in: directory)
  }
}

extension Array where Element: Sendable {
  /// The elements as an async sequence.
  var async: AsyncStream<Element> {
    AsyncStream { continuation in
      for element in self { continuation.yield(element) }
      continuation.finish()
    }
  }
}

extension SessionEngineTests {
  @Test func aPartLostWhileRunningIsReportedAtCompletionAndReceivedAgain() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let engine = try await engine(directory)
    let bytes = randomBytes(Self.partSize + 10, seed: 5)
    let session = try await engine.create(
      .init(key: "lost-running", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
    try await send(chunks(bytes, session: session.id, part: 1) + chunks(bytes, session: session.id, part: 2), to: engine)
    await SessionUpkeep(sessions: engine).commitReceivedParts()
    let uploads = directory.path + "/store/uploads"
    for upload in try FileManager.default.contentsOfDirectory(atPath: uploads) {
      try FileManager.default.removeItem(atPath: "\(uploads)/\(upload)/1")
    }
    let missing = await #expect(throws: UploadError.self) {
      try await engine.complete(session.id, owner: .anonymous, sha256: .of(bytes), partSHA256s: digests(bytes))
    }
    #expect(missing?.code == .partsMissing)
    #expect(try await engine.parts(of: session.id)[0].receivedBytes == 0)

    try await send(chunks(bytes, session: session.id, part: 1), to: engine)
    try await completes(session, of: bytes, on: engine, in: directory)
  }
}

extension SessionEngineTests {
  /// A disk too small for every part in flight (the object store away, or streams running side
  /// by side): each part reserves its room before its first byte, so the part that does not fit
  /// is refused at once, and the admitted ones can finish and free the disk. Without the
  /// reservation the third part was accepted here, and parts started side by side could fill
  /// the disk with none of them able to end.
  @Test func aDiskWithoutRoomForAnotherPartRefusesItBeforeItsFirstByte() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let spool = directory.path + "/spool"
    try mountTmpfs(at: spool, megabytes: 12)
    defer { unmount(spool) }
    let engine = try await engine(directory, spool: spool)
    let bytes = randomBytes(3 * Self.partSize, seed: 6)
    let session = try await engine.create(
      .init(key: "full-disk", size: Int64(bytes.count), partSize: Int64(Self.partSize)), owner: .anonymous)
    let part1 = chunks(bytes, session: session.id, part: 1)
    let part2 = chunks(bytes, session: session.id, part: 2)

    // Two parts started: 2 MiB written, 10 MiB of the 12 reserved.
    try await send(Array(part1[..<4]), to: engine)
    try await send(Array(part2[..<4]), to: engine)
    let refused = await #expect(throws: UploadError.self) {
      try await send(chunks(bytes, session: session.id, part: 3), to: engine)
    }
    #expect(refused?.code == .spoolFull)
    #expect(try await engine.parts(of: session.id)[2].receivedBytes == 0)

    // The two admitted parts finish, reach the store and leave the spool: the third fits now.
    try await send(Array(part1[4...]) + Array(part2[4...]), to: engine)
    await SessionUpkeep(sessions: engine).commitReceivedParts()
    try await send(chunks(bytes, session: session.id, part: 3), to: engine)
    try await completes(session, of: bytes, on: engine, in: directory)
  }

  /// Mounts a tmpfs of `megabytes` at `path`: a real disk that fills. Needs root, as CI has;
  /// without it the test fails, it does not skip.
  private func mountTmpfs(at path: String, megabytes: Int) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let mount = try Process.run(URL(fileURLWithPath: "/bin/mount"), arguments: ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
    mount.waitUntilExit()
    #expect(mount.terminationStatus == 0, "mounting a tmpfs at \(path) needs root")
    try #require(mount.terminationStatus == 0)
  }

  private func unmount(_ path: String) {
    let umount = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: ["-l", path])
    umount?.waitUntilExit()
  }
}
