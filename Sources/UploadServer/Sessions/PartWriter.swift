import Crypto
import Foundation
import NIOFileSystem
import UploadCore

/// Where the bytes of one part of a session land: the spool file, its SHA-256, its durability
/// and its progress in the session store. Committing the part to the object store is
/// `PartCommitter`'s; nothing here waits for the object store.
///
/// A stream `claim`s the part before writing: the store hands out a new generation, and every
/// update the writer makes is conditional on it, so a stream that was taken over is refused by
/// the database (`.partTakenOver`), whichever server the newer stream reached. Operations run
/// one at a time under the writer's lock, which is held across file I/O and SQLite, never across
/// a network call, so a takeover or an abort waits for at most one write.
///
/// A part that starts from its first byte with a declared digest is also forwarded: uploaded to
/// the object store while it arrives, reading the spool file behind the writer (see
/// `PartForwarder`). The forward ends when the part is received (the committer then takes its
/// ETag), or is cancelled when the writer leaves the part unfinished, the part is reset or the
/// writer closes; the part is then committed from the spool.
///
/// Each byte is hashed once on this side at most: when the object store verifies every part
/// against its declared SHA-256 (S3's `x-amz-checksum-sha256`) and the digest is declared before
/// the part's first byte, the writer does not hash the bytes it only passes on. The store then
/// catches a changed byte, and the committer resets the part so the client sends it again.
actor PartWriter {
  let sessionID: SessionID
  let number: Int
  /// Where the part starts in the object.
  let objectOffset: Int64
  /// Where the part's bytes are staged.
  let spool: Spool
  /// The part's spool file.
  let path: FilePath
  /// The part's size: planned, or as recorded once the part was claimed.
  private var size: Int64
  private let store: any SessionStore
  private let settings: SessionSettings
  private let metrics: ServerMetrics
  private var budget: SpoolBudget { spool.budget }
  private let lock = AsyncSemaphore(permits: 1)
  private var generation: UInt64 = 0
  private var closed = false
  private var open: OpenPart?
  private let forwarder: PartForwarder?
  /// The object store checks each part against its declared SHA-256.
  private let storeVerifiesDigests: Bool
  /// The part's forward to the object store, while one runs or its result waits for the committer.
  private var forwarded: ForwardedPart?

  init(sessionID: SessionID, number: Int, plan: PartPlan, spool: Spool, store: any SessionStore,
    settings: SessionSettings, metrics: ServerMetrics, forwarder: PartForwarder? = nil,
    storeVerifiesDigests: Bool = false)
  {
    self.forwarder = forwarder
    self.storeVerifiesDigests = storeVerifiesDigests
    self.metrics = metrics
    self.spool = spool
    self.path = spool.partFile(session: sessionID, number: number)
    self.sessionID = sessionID
    self.number = number
    self.size = plan.size(ofPart: number)
    self.objectOffset = plan.offset(ofPart: number)
    self.store = store
    self.settings = settings
  }

  /// This part's reservation in the spool budget.
  private var budgetKey: String { path.string }

  /// Makes the caller the part's writer, in the store and here, and returns its generation.
  ///
  /// - Throws: `.cancelled` when the caller is cancelled while a write is in progress; the
  ///   store's errors.
  func claim() async throws(UploadError) -> UInt64 {
    try await locked { () throws(UploadError) in
      let record = try await store.claim(sessionID, number: number, size: size, now: settings.nowMilliseconds)
      generation = record.generation
      size = record.size
      if let part = open, part.ledger.durableBytes > record.receivedBytes || record.state != .receiving {
        // The store knows less (or more) than this process: start again from what it says.
        stopForwarding()
        await closeFile(part.handle)
        open = nil
        budget.release(budgetKey)
      }
      return generation
    }
  }

  /// Writes a chunk for the writer of `generation`. With `endsObject` the part ends after this
  /// chunk (the final part of a session of unknown size).
  ///
  /// - Parameter acceptsUndeclaredDigest: receive the part as its bytes hash when no digest was
  ///   declared (the original contract).
  /// - Throws: `UploadError`: `.partTakenOver`, `.sessionClosed`, `.offsetGap`,
  ///   `.invalidRequest`, `.digestMismatch` (the part was reset), `.spoolFull`.
  func write(
    _ data: Data, offset: Int64, declared: ContentHash?, last: Bool, endsObject: Bool, generation: UInt64,
    acceptsUndeclaredDigest: Bool = false
  ) async throws(UploadError) -> Outcome {
    try await locked { () throws(UploadError) in
      guard self.generation == generation else {
        throw UploadError(.partTakenOver, "part \(number) of session \(sessionID) was taken over by a newer stream")
      }
      guard !closed else { throw UploadError(.sessionClosed, "session \(sessionID) is no longer open") }
      do {
        guard var part = try await openIfNeeded(acceptsUndeclaredDigest: acceptsUndeclaredDigest) else {
          if endsObject { try await endReceivedPart(at: offset + Int64(data.count)) }
          return .alreadyReceived(size: size)
        }
        defer { open = part.finished ? nil : part }
        if let declared { try await declare(declared, for: &part) }
        switch try part.ledger.place(offset: offset, length: data.count) {
        case .duplicate:
          metrics.bytesReceivedAgain.increment(by: data.count)
        case .append(let skip, let at):
          if skip > 0 { metrics.bytesReceivedAgain.increment(by: skip) }
          startForwarding(part.ledger)
          let bytes = data.dropFirst(skip)
          try await part.handle.write(contentsOf: bytes, toAbsoluteOffset: at)
          part.hasher?.update(data: bytes)
          part.ledger.wrote(bytes.count)
          forwarded?.advance(to: part.ledger.receivedBytes)
          metrics.bytesReceived.increment(by: bytes.count)
        }
        if endsObject {
          try end(&part, at: offset + Int64(data.count))
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
  }

  /// Makes what the writer of `generation` wrote durable; nil when there was nothing to do.
  func flush(generation: UInt64) async -> Int64? {
    // In a task of its own: the caller may be cancelled (its client went away), and what was
    // written must still become durable.
    await Task { await self.flushShielded(generation: generation) }.value
  }

  private func flushShielded(generation: UInt64) async -> Int64? {
    do { try await lock.acquire() } catch { return nil }
    defer { lock.release() }
    guard self.generation == generation, !closed else { return nil }
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

  /// Hands the part's finished forward to the committer, once.
  func takeForward() -> ForwardedPart? {
    defer { forwarded = nil }
    return forwarded
  }

  /// Closes the spool file and refuses further writes (the session was completed, aborted or
  /// expired). Waits for a write in progress, even when the caller is cancelled.
  func close() async {
    await Task { await self.closeShielded() }.value
  }

  private func closeShielded() async {
    do { try await lock.acquire() } catch { return }
    defer { lock.release() }
    closed = true
    stopForwarding()
    if let part = open {
      await closeFile(part.handle)
      open = nil
    }
    budget.release(budgetKey)
  }

  /// Deletes the part's spool file, under the lock so no claim runs meanwhile, when this node
  /// no longer holds the part: another node took it over, it was committed, or its session is
  /// gone. Returns whether it did.
  func dropIfHeldElsewhere(node: String) async -> Bool {
    await Task { await self.dropShielded(node: node) }.value
  }

  private func dropShielded(node: String) async -> Bool {
    do { try await lock.acquire() } catch { return false }
    defer { lock.release() }
    let found: PartRecord?
    do {
      found = try await store.part(of: sessionID, number: number)
    } catch {
      // Unknown: the database did not answer; keep the file.
      return false
    }
    if let part = found, part.state != .committed,
      part.holderNode == node || (part.holderNode == nil && part.state == .received)
    {
      return false
    }
    stopForwarding()
    if let open {
      await closeFile(open.handle)
      self.open = nil
    }
    budget.release(budgetKey)
    await spool.removePart(session: sessionID, number: number)
    return true
  }

  /// Runs `body` holding the lock.
  private func locked<T>(_ body: () async throws(UploadError) -> T) async throws(UploadError) -> T {
    try await lock.withPermit(orIfCancelled: UploadError(.cancelled, "the stream was cancelled"), body)
  }

  /// Opens the spool file of a part still receiving: truncates bytes written past the durable
  /// offset (they were never acknowledged) and re-hashes the durable ones. Nil when the part
  /// has already been received.
  private func openIfNeeded(acceptsUndeclaredDigest: Bool) async throws -> OpenPart? {
    if let open { return open }
    guard let record = try await store.part(of: sessionID, number: number) else {
      throw UploadError(.internal, "part \(number) of session \(sessionID) is not in the store")
    }
    // The database decides: a newer writer may hold the part although this node never heard
    // of it (it claimed it on another node, and this one dropped its file meanwhile).
    guard record.generation == generation else {
      throw UploadError(.partTakenOver, "part \(number) of session \(sessionID) was taken over by a newer stream")
    }
    size = record.size
    guard record.state == .receiving else { return nil }
    let handle = try await spool.openPart(session: sessionID, number: number)
    do {
      try budget.admit(budgetKey, bytes: size - record.receivedBytes)
      let onDisk = try await handle.info().size
      let durable = min(record.receivedBytes, onDisk)
      if onDisk != durable { try await handle.resize(to: .bytes(durable)) }
      try await spool.reserve(handle, bytes: size)
      // Resumed after the digest was declared to a store that checks it: no need to read it.
      let unhashed = storeVerifiesDigests && record.expectedSHA256 != nil && durable > 0
      let hasher = unhashed ? nil : try await handle.sha256(upTo: durable)
      return OpenPart(
        handle: handle, hasher: hasher,
        ledger: PartLedger(
          number: number, size: size, durableBytes: durable, expectedSHA256: record.expectedSHA256,
          acceptsUndeclaredDigest: acceptsUndeclaredDigest),
        lastDurableAt: .now)
    } catch {
      await closeFile(handle)
      budget.release(budgetKey)
      throw error
    }
  }

  /// Ends the part where a chunk ending the object ends.
  private func end(_ part: inout OpenPart, at end: Int64) throws(UploadError) {
    guard end == part.ledger.receivedBytes else {
      throw UploadError(
        .invalidRequest,
        "part \(number) of session \(sessionID) already holds \(part.ledger.receivedBytes) bytes; a chunk cannot end the object at \(end)")
    }
    if end == 0 && number > 1 {
      throw UploadError(
        .invalidRequest,
        "part \(number) of session \(sessionID): the chunk that ends the object must carry its last byte; only an empty object ends in an empty part 1")
    }
    if end < size {
      // The forward announced the planned size to the store.
      stopForwarding()
    }
    part.ledger.end()
    size = part.ledger.size
    part.endsObject = true
  }

  /// Ends the object after a part already received: the client learnt that its input ended
  /// only after the part's last byte, and says so with an empty chunk at the part's end.
  private func endReceivedPart(at end: Int64) async throws {
    guard var record = try await store.part(of: sessionID, number: number) else {
      throw UploadError(.internal, "part \(number) of session \(sessionID) is not in the store")
    }
    guard end == record.size else {
      throw UploadError(
        .invalidRequest,
        "part \(number) of session \(sessionID) holds \(record.size) bytes; a chunk cannot end the object at \(end)")
    }
    record.generation = generation
    try await store.update(
      record, sessionUpdatedAt: settings.nowMilliseconds, expiresAt: settings.expiryFromNow,
      endingObject: objectOffset + record.size)
  }

  /// fdatasync, then record the offset: an acknowledgement never claims more than the disk holds.
  private func makeDurable(_ part: inout OpenPart) async throws {
    try await part.handle.synchronize()
    part.ledger.madeDurable()
    part.lastDurableAt = .now
    try await record(part.ledger, sha256: nil, endingObject: nil)
  }

  /// Verifies a full part: received when it matches, reset when it does not, kept waiting when
  /// the client has not sent the digest yet.
  private func finish(_ part: inout OpenPart) async throws -> Outcome {
    // Unhashed: the declared digest stands until the object store checks the bytes against it.
    guard let actual = part.hasher.map({ ContentHash($0.finalize()) }) ?? part.ledger.expectedSHA256 else {
      throw UploadError(.internal, "part \(number) of session \(sessionID) was not hashed and has no declared digest")
    }
    switch part.ledger.verify(actual: actual) {
    case .matches:
      try await part.handle.synchronize()
      let received = try await record(
        part.ledger, sha256: actual, endingObject: part.endsObject ? objectOffset + part.ledger.size : nil)
      await closeFile(part.handle)
      part.finished = true
      budget.release(budgetKey)
      return .received(received)
    case .awaitingDigest:
      if part.ledger.pendingBytes > 0 { try await makeDurable(&part) }
      return .durable(receivedBytes: part.ledger.durableBytes)
    case .mismatch(let expected):
      stopForwarding()
      try await part.handle.resize(to: .bytes(0))
      try await part.handle.synchronize()
      try await spool.reserve(part.handle, bytes: size)
      part.hasher = SHA256()
      try await record(part.ledger, sha256: nil, endingObject: nil)
      throw UploadError(
        .digestMismatch,
        "part \(number) of session \(sessionID): the bytes received hash to \(actual.hex), not the declared \(expected.hex); the part was reset, send it again")
    }
  }

  /// Records the client's digest for the part (the latest declaration wins). Declared before the
  /// first byte, to a store that verifies digests, it spares the hashing here. When a part
  /// received so far unhashed is declared with another digest, the store can no longer vouch
  /// for it: the forward stops and the bytes written so far are hashed from the spool file.
  private func declare(_ digest: ContentHash, for part: inout OpenPart) async throws {
    let changed = part.ledger.expectedSHA256.map { $0 != digest } ?? false
    part.ledger.declare(digest)
    if part.ledger.receivedBytes == 0 {
      if storeVerifiesDigests { part.hasher = nil }
    } else if part.hasher == nil && changed {
      stopForwarding()
      part.hasher = try await part.handle.sha256(upTo: part.ledger.receivedBytes)
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

  @discardableResult
  private func record(_ ledger: PartLedger, sha256: ContentHash?, endingObject: Int64?) async throws -> PartRecord {
    let now = settings.nowMilliseconds
    let part = PartRecord(
      sessionID: sessionID, number: number, size: ledger.size, receivedBytes: ledger.durableBytes,
      expectedSHA256: ledger.expectedSHA256, sha256: sha256, state: ledger.state, updatedAt: now,
      generation: generation)
    try await store.update(part, sessionUpdatedAt: now, expiresAt: settings.expiryFromNow, endingObject: endingObject)
    return part
  }
}
