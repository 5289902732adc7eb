import Crypto
import Foundation
import NIOFileSystem
import UploadCore

/// The one place where a part of a session is written, made durable, verified and committed.
///
/// A stream `claim`s the slot before writing; a later claim takes the part over, and the
/// earlier stream's next write fails with `.partTakenOver`. Every operation runs under the
/// slot's lock, so a takeover waits for at most one write in progress.
///
/// A part that starts from its first byte with a declared digest is also forwarded: uploaded to
/// the object store while it arrives, reading the spool file behind the writer (see
/// `PartForwarder`). The forward ends when the part is received (its ETag is then the commit),
/// or is cancelled when the writer leaves the part unfinished, the part is reset or the slot
/// closes; the part is then committed from the spool as before.
actor PartSlot {
  /// What a write led to.
  enum Outcome: Sendable {
    /// Written, not yet durable.
    case buffered
    /// Everything up to `receivedBytes` is durable and recorded.
    case durable(receivedBytes: Int64)
    /// The part is complete and verified; it can be committed.
    case received
    /// The part had already been received; the chunk was a duplicate.
    case alreadyReceived
  }

  let sessionID: SessionID
  let number: Int
  let size: Int64
  let path: FilePath
  private let store: any SessionStore
  private let settings: SessionSettings
  private let metrics: ServerMetrics
  private let budget: SpoolBudget
  private let lock = AsyncLock()
  private var owner: UInt64 = 0
  private var closed = false
  private var open: OpenPart?
  private let forwarder: PartForwarder?
  /// The part's forward to the object store, while one runs or its result waits for `commit`.
  private var forwarded: ForwardedPart?

  /// The spool file and the bookkeeping of a part being received.
  private struct OpenPart {
    var handle: ReadWriteFileHandle
    var hasher: SHA256
    var ledger: PartLedger
    var lastDurableAt: ContinuousClock.Instant
    /// Set once the part is received and its file closed.
    var finished = false
  }

  init(sessionID: SessionID, number: Int, size: Int64, path: FilePath, store: any SessionStore,
    settings: SessionSettings, metrics: ServerMetrics, budget: SpoolBudget, forwarder: PartForwarder? = nil)
  {
    self.forwarder = forwarder
    self.metrics = metrics
    self.budget = budget
    self.sessionID = sessionID
    self.number = number
    self.size = size
    self.path = path
    self.store = store
    self.settings = settings
  }

  /// This part's reservation in the spool budget.
  private var budgetKey: String { path.string }

  /// Makes the caller the part's writer and returns its generation.
  func claim() -> UInt64 {
    owner &+= 1
    return owner
  }

  /// Writes a chunk for the writer of `generation`.
  ///
  /// - Throws: `UploadError`: `.partTakenOver`, `.sessionClosed`, `.offsetGap`,
  ///   `.invalidRequest`, `.digestMismatch` (the part was reset), `.spoolFull`.
  func write(_ data: Data, offset: Int64, declared: ContentHash?, last: Bool, generation: UInt64)
    async throws(UploadError) -> Outcome
  {
    await lock.lock()
    defer { lock.unlock() }
    guard owner == generation else {
      throw UploadError(.partTakenOver, "part \(number) of session \(sessionID) was taken over by a newer stream")
    }
    guard !closed else { throw UploadError(.sessionClosed, "session \(sessionID) is no longer open") }
    do {
      guard var part = try await openIfNeeded() else { return .alreadyReceived }
      defer { open = part.finished ? nil : part }
      if let declared { part.ledger.declare(declared) }
      if case .append(let skip, let at) = try part.ledger.place(offset: offset, length: data.count) {
        startForwarding(part.ledger)
        let bytes = data.dropFirst(skip)
        try await part.handle.write(contentsOf: bytes, toAbsoluteOffset: at)
        part.hasher.update(data: bytes)
        part.ledger.wrote(bytes.count)
        forwarded?.advance(to: part.ledger.receivedBytes)
        metrics.bytesReceived.increment(by: bytes.count)
      }
      if part.ledger.isFull {
        return try await finish(&part)
      }
      if last || part.ledger.pendingBytes >= settings.acknowledgementBytes
        || ContinuousClock.now - part.lastDurableAt >= settings.acknowledgementInterval
      {
        try await makeDurable(&part)
        return .durable(receivedBytes: part.ledger.durableBytes)
      }
      return .buffered
    } catch {
      throw UploadError.fromFileSystem(error, while: "writing part \(number) of session \(sessionID)")
    }
  }

  /// Makes what the writer of `generation` wrote durable; nil when there was nothing to do.
  func flush(generation: UInt64) async -> Int64? {
    await lock.lock()
    defer { lock.unlock() }
    guard owner == generation, !closed else { return nil }
    // The writer leaves the part unfinished: its forward would wait for bytes that may come
    // much later, or from another node.
    if open != nil { stopForwarding() }
    guard var part = open, part.ledger.pendingBytes > 0 else { return nil }
    defer { open = part }
    do {
      try await makeDurable(&part)
      return part.ledger.durableBytes
    } catch {
      return nil
    }
  }

  /// Uploads the received part from the spool and records its ETag; returns the committed part.
  /// Committing a committed part returns it again.
  func commit(to objectStore: any ObjectStore, key: ObjectKey, uploadID: String) async throws(UploadError)
    -> PartRecord
  {
    await lock.lock()
    defer { lock.unlock() }
    guard var record = try await store.part(of: sessionID, number: number) else {
      throw UploadError(.internal, "part \(number) of session \(sessionID) is not in the store")
    }
    switch record.state {
    case .committed:
      return record
    case .receiving:
      throw UploadError(.partsMissing, "part \(number) of session \(sessionID) has not been received")
    case .received:
      guard let sha256 = record.sha256 else {
        throw UploadError(.internal, "part \(number) of session \(sessionID) is received without a digest")
      }
      if let etag = await forwarded?.etag() {
        record.etag = etag
      } else {
        let spooled = SpooledPart(number: number, path: path.string, size: size, sha256: sha256)
        record.etag = try await objectStore.uploadPart(key: key, uploadID: uploadID, part: spooled)
      }
      forwarded = nil
      record.state = .committed
      record.updatedAt = settings.nowMilliseconds
      try await store.update(record, sessionUpdatedAt: record.updatedAt, expiresAt: settings.expiryFromNow)
      _ = try? await FileSystem.shared.removeItem(at: path)
      return record
    }
  }

  /// Closes the spool file and refuses further writes (the session was completed, aborted or
  /// expired). Waits for a write in progress.
  func close() async {
    await lock.lock()
    defer { lock.unlock() }
    closed = true
    stopForwarding()
    if let part = open {
      await closeFile(part.handle)
      open = nil
    }
    budget.release(budgetKey)
  }

  /// Opens the spool file of a part still receiving: truncates bytes written past the durable
  /// offset (they were never acknowledged) and re-hashes the durable ones. Nil when the part
  /// has already been received.
  private func openIfNeeded() async throws -> OpenPart? {
    if let open { return open }
    guard let record = try await store.part(of: sessionID, number: number) else {
      throw UploadError(.internal, "part \(number) of session \(sessionID) is not in the store")
    }
    guard record.state == .receiving else { return nil }
    try await FileSystem.shared.createDirectory(
      at: path.removingLastComponent(), withIntermediateDirectories: true)
    let handle = try await FileSystem.shared.openFile(
      forReadingAndWritingAt: path, options: .modifyFile(createIfNecessary: true))
    do {
      try budget.admit(budgetKey, bytes: size - record.receivedBytes)
      let onDisk = try await handle.info().size
      let durable = min(record.receivedBytes, onDisk)
      if onDisk != durable { try await handle.resize(to: .bytes(durable)) }
      var hasher = SHA256()
      if durable > 0 {
        for try await chunk in handle.readChunks(in: 0..<durable, chunkLength: .mebibytes(1)) {
          chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
      }
      return OpenPart(
        handle: handle, hasher: hasher,
        ledger: PartLedger(number: number, size: size, durableBytes: durable, expectedSHA256: record.expectedSHA256),
        lastDurableAt: .now)
    } catch {
      await closeFile(handle)
      budget.release(budgetKey)
      throw error
    }
  }

  /// fdatasync, then record the offset: an acknowledgement never claims more than the disk holds.
  private func makeDurable(_ part: inout OpenPart) async throws {
    try await part.handle.synchronize()
    part.ledger.madeDurable()
    part.lastDurableAt = .now
    try await record(part.ledger, sha256: nil)
  }

  /// Verifies a full part: received when it matches, reset when it does not, kept waiting when
  /// the client has not sent the digest yet.
  private func finish(_ part: inout OpenPart) async throws -> Outcome {
    let actual = ContentHash(part.hasher.finalize())
    switch part.ledger.verify(actual: actual) {
    case .matches:
      try await part.handle.synchronize()
      try await record(part.ledger, sha256: actual)
      await closeFile(part.handle)
      part.finished = true
      budget.release(budgetKey)
      return .received
    case .awaitingDigest:
      if part.ledger.pendingBytes > 0 { try await makeDurable(&part) }
      return .durable(receivedBytes: part.ledger.durableBytes)
    case .mismatch(let expected):
      stopForwarding()
      try await part.handle.resize(to: .bytes(0))
      try await part.handle.synchronize()
      part.hasher = SHA256()
      try await record(part.ledger, sha256: nil)
      throw UploadError(
        .digestMismatch,
        "part \(number) of session \(sessionID): the bytes received hash to \(actual.hex), not the declared \(expected.hex); the part was reset, send it again")
    }
  }

  /// Starts forwarding when the first bytes of the part are about to be written and the
  /// client has declared the part's digest (the store checks the bytes against it).
  private func startForwarding(_ ledger: PartLedger) {
    guard forwarded == nil, ledger.receivedBytes == 0, let declared = ledger.expectedSHA256, let forwarder else {
      return
    }
    forwarded = forwarder.start(number: number, path: path.string, size: size, declared: declared)
  }

  private func stopForwarding() {
    forwarded?.cancel()
    forwarded = nil
  }

  private func record(_ ledger: PartLedger, sha256: ContentHash?) async throws {
    let now = settings.nowMilliseconds
    try await store.update(
      PartRecord(
        sessionID: sessionID, number: number, size: size, receivedBytes: ledger.durableBytes,
        expectedSHA256: ledger.expectedSHA256, sha256: sha256, state: ledger.state, updatedAt: now),
      sessionUpdatedAt: now, expiresAt: settings.expiryFromNow)
  }
}
