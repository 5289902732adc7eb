import Crypto
import NIOCore
import UploadCore

/// Stores small objects whole, each in one step (`UploadObject`, `UploadObjects`): no session
/// stays open, no part is spooled and no multipart upload is made; the object is put in the
/// object store and its session recorded completed. The other way in, beside `SessionReceiver`'s
/// streams of parts, over the same sessions.
public struct WholeObjectReceiver: Sendable {
  let sessions: SessionCoordinator

  /// Stores for `sessions`.
  public init(sessions: SessionCoordinator) {
    self.sessions = sessions
  }

  /// A small object to store in one step: the session to create, its bytes, their SHA-256,
  /// and whether to read it back.
  public struct Object: Sendable {
    /// The session to create; its size must be the length of `bytes`.
    public var request: SessionCoordinator.CreateRequest
    /// The whole object.
    public var bytes: ByteBuffer
    /// The SHA-256 the client computed of `bytes`.
    public var sha256: ContentHash
    /// Read the object back once stored (as `complete`'s `verify`).
    public var verify: Bool

    /// An object to store whole.
    public init(_ request: SessionCoordinator.CreateRequest, bytes: ByteBuffer, sha256: ContentHash, verify: Bool = false) {
      self.request = request
      self.bytes = bytes
      self.sha256 = sha256
      self.verify = verify
    }
  }

  /// The most objects `uploadObjects` takes at once.
  public static let maximumObjectsPerCall = 256

  /// Stores a small object in one step (`UploadObject`): checks the bytes against `sha256`,
  /// puts them in the object store whole, then records the session completed with its one part
  /// committed, in one transaction. With `verify` (or `SessionSettings.verifiesCompletedObjects`) the
  /// object is then read back, as `complete` does.
  ///
  /// Nothing is recorded before the object is stored, so a failure part-way leaves no session,
  /// no spool and no multipart upload; a retry with the same idempotency key stores the same
  /// bytes again. A retry of a call that succeeded returns its session.
  ///
  /// - Throws: what `create` throws, but `.tooManySessions` (the session is never open);
  ///   `.invalidRequest` when `request.size` is not the length of `bytes`; `.digestMismatch`
  ///   when they do not hash to `sha256` (nothing is kept); for an idempotency key used before,
  ///   `.idempotencyConflict` (another object or SHA-256), `.sessionClosed` (aborted or
  ///   expired) or `.sessionInProgress` (a session from `create`, not completed yet).
  public func uploadObject(
    _ request: SessionCoordinator.CreateRequest, bytes: ByteBuffer, sha256: ContentHash, verify: Bool = false, owner: Principal
  ) async throws(UploadError) -> SessionRecord {
    let results = try await uploadObjects([Object(request, bytes: bytes, sha256: sha256, verify: verify)], owner: owner)
    return try results[0].get()
  }

  /// Stores several small objects as `uploadObject` does each (`UploadObjects`): they are put
  /// in the object store at once and recorded in one transaction. Each has its own result, in
  /// order; the call throws only what concerns them all (`.invalidRequest` for none or more
  /// than `maximumObjectsPerCall`, a database that fails).
  public func uploadObjects(_ objects: [Object], owner: Principal) async throws(UploadError)
    -> [Result<SessionRecord, UploadError>]
  {
    try Self.checkObjectCount(objects.count)
    var results = [Result<SessionRecord, UploadError>?](repeating: nil, count: objects.count)
    var prepared: [(index: Int, session: SessionRecord, attributes: ObjectAttributes)] = []
    for (index, object) in objects.enumerated() {
      do {
        let (session, attributes) = try prepare(object, owner: owner)
        prepared.append((index, session, attributes))
      } catch {
        results[index] = .failure(error)
      }
    }

    // Retries: objects whose idempotency key names a session already.
    let keys = prepared.compactMap(\.session.idempotencyKey)
    let earlier = Dictionary(
      try await sessions.store.sessions(owner: owner.name, idempotencyKeys: keys).compactMap { session in
        session.idempotencyKey.map { ($0, session) }
      }, uniquingKeysWith: { first, _ in first })
    var fresh: [(index: Int, session: SessionRecord, attributes: ObjectAttributes)] = []
    for item in prepared {
      if let key = item.session.idempotencyKey, let earlier = earlier[key] {
        sessions.metrics.bytesReceivedAgain.increment(by: objects[item.index].bytes.readableBytes)
        results[item.index] = await result { () async throws(UploadError) in
          try await storedBefore(try SessionCoordinator.checkSame(earlier, as: item.session), object: objects[item.index])
        }
      } else {
        fresh.append(item)
      }
    }

    // The rest: stored at once (the object store bounds how many run), then recorded together.
    let stored = await withTaskGroup(of: (Int, Result<StoredObject, UploadError>).self) { group in
      for item in fresh {
        let object = objects[item.index]
        sessions.metrics.bytesReceived.increment(by: object.bytes.readableBytes)
        group.addTask {
          await (item.index, result { () async throws(UploadError) in
            try await sessions.objectStore.putObject(
              key: item.session.key, bytes: object.bytes, sha256: object.sha256, attributes: item.attributes)
          })
        }
      }
      var stored: [Int: Result<StoredObject, UploadError>] = [:]
      for await (index, outcome) in group { stored[index] = outcome }
      return stored
    }
    var completed: [(index: Int, session: SessionRecord, parts: [PartRecord])] = []
    for item in fresh {
      switch stored[item.index] {
      case .success(let object):
        var session = item.session
        let now = sessions.settings.nowMilliseconds
        (session.state, session.sha256, session.etag, session.location, session.updatedAt) =
          (.completed, objects[item.index].sha256, object.etag, object.location, now)
        let size = session.plan.size ?? 0
        let parts =
          size == 0
          ? []
          : [
            PartRecord(
              sessionID: session.id, number: 1, size: size, sha256: session.sha256, etag: object.etag, state: .committed,
              updatedAt: now)
          ]
        completed.append((item.index, session, parts))
      case .failure(let error):
        results[item.index] = .failure(error)
      case nil:
        results[item.index] = .failure(UploadError(.internal, "object \(item.index) was neither stored nor failed"))
      }
    }
    let recorded = try await sessions.store.insertCompleted(
      completed.map { ($0.session, $0.parts) }, notify: sessions.notifier != nil)
    if recorded.contains(where: \.created) { sessions.notifier?.nudge() }
    for (item, (record, created)) in zip(completed, recorded) {
      let object = objects[item.index]
      results[item.index] = await result { () async throws(UploadError) in
        guard created else {
          // A retry of the same call recorded it first: it stored the same bytes.
          return try await storedBefore(try SessionCoordinator.checkSame(record, as: item.session), object: object)
        }
        sessions.logger.info(
          "object stored in one step",
          metadata: [
            "session": "\(record.id)", "key": "\(record.key)", "size": "\(object.bytes.readableBytes)",
            "sha256": "\(object.sha256)",
          ])
        return object.verify || sessions.settings.verifiesCompletedObjects ? try await sessions.verify(record) : record
      }
    }
    return results.map { $0 ?? .failure(UploadError(.internal, "an object of the call has no result")) }
  }

  /// Refuses a call of no objects or more than `maximumObjectsPerCall`.
  static func checkObjectCount(_ count: Int) throws(UploadError) {
    guard (1...maximumObjectsPerCall).contains(count) else {
      throw UploadError(.invalidRequest, "\(count) objects in one call; send 1 to \(maximumObjectsPerCall)")
    }
  }

  /// The session `object` describes, checked (size, digest, key, attributes), not yet stored.
  private func prepare(_ object: Object, owner: Principal) throws(UploadError) -> (SessionRecord, ObjectAttributes) {
    guard let size = object.request.size, size == Int64(object.bytes.readableBytes) else {
      throw UploadError(
        .invalidRequest,
        "the size is \(object.request.size.map { "\($0) bytes" } ?? "unknown") but the data holds \(object.bytes.readableBytes) bytes; UploadObject needs the object's exact size")
    }
    let received = ContentHash(SHA256.hash(data: object.bytes.readableBytesView))
    guard received == object.sha256 else {
      throw UploadError(
        .digestMismatch,
        "the data hashes to sha256 \(received.hex), the request says \(object.sha256.hex); nothing was kept: send it again")
    }
    return try sessions.newSession(object.request, owner: owner)
  }

  /// What a retried object gets from the session its idempotency key names.
  private func storedBefore(_ earlier: SessionRecord, object: Object) async throws(UploadError) -> SessionRecord {
    switch earlier.state {
    case .completed:
      guard earlier.sha256 == object.sha256 else {
        throw UploadError(
          .idempotencyConflict,
          "the idempotency key was used for session \(earlier.id), completed with sha256 \(earlier.sha256?.hex ?? "none"); these bytes hash to \(object.sha256.hex): use a new key for different bytes")
      }
      try SessionCoordinator.checkVerdict(earlier)
      let verify = object.verify || sessions.settings.verifiesCompletedObjects
      return verify && earlier.verifiedSHA256 == nil ? try await sessions.verify(earlier) : earlier
    case .aborted, .expired:
      throw UploadError(.sessionClosed, "the idempotency key names session \(earlier.id), which was \(earlier.state.rawValue)")
    case .open, .completing:
      throw UploadError(
        .sessionInProgress,
        "the idempotency key names session \(earlier.id), created by CreateSession and not completed; continue it with UploadParts and CompleteSession")
    }
  }
}

/// `body`'s value or its error, as a `Result`.
private func result<T>(_ body: () async throws(UploadError) -> T) async -> Result<T, UploadError> {
  do {
    return .success(try await body())
  } catch {
    return .failure(error)
  }
}
