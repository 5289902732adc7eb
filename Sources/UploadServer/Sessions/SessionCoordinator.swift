import Foundation
import Logging
import UploadCore

/// The session engine's API, the one data path: creates, completes, aborts and verifies
/// sessions. Its other jobs are their own types over it: `SessionReceiver` receives streams of
/// parts through the `PartWriter`s, `ObjectAssembler` puts a completing session's object
/// together, and `SessionUpkeep` recovers after a crash, commits what streams left, expires idle
/// sessions and keeps the heartbeat. Both gRPC services are thin adapters over these:
/// `ResumableUploadsService`, and `FileUploaderService` (the original contract, a session of
/// unknown size per stream).
public final class SessionCoordinator: Sendable {
  let store: any SessionStore
  let objectStore: any ObjectStore
  let spool: Spool
  let settings: SessionSettings
  let writers: PartWriters
  let aborts: AbortRetrier
  /// Delivers the notification outbox; nil when the server has no `--notify-url` (no event is
  /// queued then).
  let notifier: Notifier?
  let metrics: ServerMetrics
  let logger: Logger
  /// Puts completing sessions' objects together.
  let assembler: ObjectAssembler
  /// Creates a coordinator over a session store, an object store and the spool.
  public init(
    store: any SessionStore, objectStore: any ObjectStore, spool: Spool, settings: SessionSettings,
    metrics: ServerMetrics = ServerMetrics(), notifier: Notifier? = nil, logger: Logger
  ) {
    self.notifier = notifier
    self.metrics = metrics
    self.store = store
    self.objectStore = objectStore
    self.spool = spool
    self.settings = settings
    self.aborts = AbortRetrier(
      sessions: store, objects: objectStore, policy: settings.abortRetryPolicy,
      idleInterval: settings.abortRetryPolicy.baseDelay, now: { settings.nowMilliseconds }, logger: logger)
    self.writers = PartWriters(
      spool: spool, store: store, objectStore: objectStore, settings: settings, metrics: metrics)
    self.logger = logger
    self.assembler = ObjectAssembler(
      store: store, objectStore: objectStore, spool: spool, writers: writers, settings: settings, logger: logger)
  }

  /// What a client asks for when it creates a session.
  public struct CreateRequest: Sendable {
    public var key: String
    /// The object's size; nil when it is not known until the final chunk.
    public var size: Int64?
    /// The part size (of the first parts, for an unknown size); 0 lets the server choose.
    public var partSize: Int64
    public var contentType: String
    public var metadata: [String: String]
    public var idempotencyKey: String?
    /// Which door the session comes in by.
    public var origin: SessionOrigin

    public init(
      key: String, size: Int64?, partSize: Int64 = 0, contentType: String = "", metadata: [String: String] = [:],
      idempotencyKey: String? = nil, origin: SessionOrigin = .resumable
    ) {
      self.origin = origin
      self.key = key
      self.size = size
      self.partSize = partSize
      self.contentType = contentType
      self.metadata = metadata
      self.idempotencyKey = idempotencyKey
    }
  }

  /// Creates a session owned by `owner`, or returns the one `owner` created earlier with the same
  /// idempotency key. `settings.keyPlacement` may place the object key under `<owner>/`.
  ///
  /// - Throws: `UploadError`: `.invalidKey`, `.invalidRequest`, `.objectTooLarge`,
  ///   `.idempotencyConflict`, `.tooManySessions`, `.storageUnavailable`.
  public func create(_ request: CreateRequest, owner: Principal) async throws(UploadError) -> SessionRecord {
    var (session, attributes) = try newSession(request, owner: owner)
    if let idempotencyKey = session.idempotencyKey,
      let existing = try await existingSession(idempotencyKey: idempotencyKey, like: session)
    {
      return existing
    }
    let open = try await store.openSessionCount(owner: owner.name)
    guard open < settings.maximumOpenSessionsPerPrincipal else {
      throw UploadError(
        .tooManySessions,
        "\(owner) has \(open) open sessions, the most this server allows (--max-sessions-per-principal); complete or abort some first")
    }
    let (id, key, plan, now) = (session.id, session.key, session.plan, session.createdAt)
    if plan.partCount > 0 {
      session.storageUploadID = try await objectStore.createUpload(key: key, attributes: attributes)
    }
    // Parts of a session of unknown size are added as they are claimed.
    let parts =
      plan.isSizeKnown
      ? (0..<plan.partCount).map {
        PartRecord(sessionID: id, number: $0 + 1, size: plan.size(ofPart: $0 + 1), updatedAt: now)
      } : []
    let (stored, created) = try await store.create(session, parts: parts)
    if !created {
      // Another call with the same idempotency key won the race: drop our upload.
      if let uploadID = session.storageUploadID { try? await objectStore.abortUpload(key: key, uploadID: uploadID) }
      return try Self.checkSame(stored, as: session)
    }
    logger.info(
      "session created",
      metadata: [
        "session": "\(id)", "key": "\(key)", "size": "\(plan.size.map(String.init) ?? "unknown")",
        "parts": "\(plan.isSizeKnown ? String(plan.partCount) : "unknown")",
      ])
    return stored
  }

  /// The open session `request` describes, checked and not yet stored, and its object's
  /// attributes.
  func newSession(_ request: CreateRequest, owner: Principal) throws(UploadError)
    -> (SessionRecord, ObjectAttributes)
  {
    let key = try settings.keyPlacement.key(request.key, for: owner)
    let plan =
      if let size = request.size {
        try PartPlan.make(size: size, requestedPartSize: request.partSize, maximumObjectSize: settings.maximumObjectSize)
      } else {
        try PartPlan.open(
          requestedPartSize: request.partSize == 0 ? settings.streamingPartSize : request.partSize,
          partsPerTier: settings.streamingPartsPerTier)
      }
    let attributes = try ObjectAttributes.validated(
      contentType: request.contentType, metadata: request.metadata, limit: settings.maximumMetadataBytes)
    let idempotencyKey = request.idempotencyKey.flatMap { $0.isEmpty ? nil : $0 }
    if let idempotencyKey, idempotencyKey.utf8.count > 256 {
      throw UploadError(.invalidRequest, "the idempotency key is longer than 256 bytes")
    }

    let now = settings.nowMilliseconds
    let session = SessionRecord(
      id: settings.makeSessionID(), owner: owner.name, idempotencyKey: idempotencyKey, key: key, plan: plan,
      contentType: request.contentType, metadata: request.metadata, origin: request.origin, storageUploadID: nil,
      state: .open, createdAt: now, updatedAt: now, expiresAt: settings.expiryFromNow)
    return (session, attributes)
  }

  /// The session, if `owner` owns it; otherwise `.sessionNotFound`, the same answer as for an id
  /// that names no session, so other principals' sessions cannot even be detected.
  public func session(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    guard let session = try await store.session(id), session.owner == owner.name else {
      throw UploadError(.sessionNotFound, "no session \(id)")
    }
    return session
  }

  /// The session's parts, in order.
  public func parts(of id: SessionID) async throws(UploadError) -> [PartRecord] {
    try await store.parts(of: id)
  }

  /// A page of `owner`'s sessions, newest first, and the cursor of the next page.
  public func list(owner: Principal, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int)
    async throws(UploadError) -> (sessions: [SessionRecord], next: (createdAt: Int64, id: SessionID)?)
  {
    let page = try await store.sessions(owner: owner.name, after: cursor, limit: limit + 1)
    let sessions = Array(page.prefix(limit))
    let next = page.count > limit ? sessions.last.map { ($0.createdAt, $0.id) } : nil
    return (sessions, next)
  }

  /// Aborts the session: stops its writers, deletes its spool and records it aborted; the
  /// multipart upload is aborted in the background (see `discard`). Idempotent.
  ///
  /// - Throws: `.sessionNotFound`; `.sessionClosed` for a completed session.
  public func abort(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    let session = try await session(id, owner: owner)
    switch session.state {
    case .aborted, .expired: return session
    case .completed: throw UploadError(.sessionClosed, "session \(id) is completed; there is nothing to abort")
    case .open, .completing: return try await discard(session, as: .aborted)
    }
  }

  /// Stops the session's writers, deletes its spool and records `state`; its multipart upload
  /// is aborted by `AbortRetrier`, at once when the object store answers and again until it
  /// does, so that neither the caller nor a lock waits for the store.
  ///
  /// The state changes only from open or completing, so of several servers (or calls) giving
  /// up one session, one does; the others get the session as that one left it.
  func discard(_ session: SessionRecord, as state: SessionState) async throws(UploadError) -> SessionRecord {
    await writers.close(session.id)
    await spool.remove(spool.sessionDirectory(session.id))
    guard let updated = try await store.close(session.id, as: state, now: settings.nowMilliseconds, notify: notifier != nil) else {
      return try await store.session(session.id) ?? session
    }
    aborts.nudge()
    notifier?.nudge()
    logger.info("session \(state.rawValue)", metadata: ["session": "\(session.id)", "key": "\(session.key)"])
    return updated
  }

  /// Gives up a session whose client cannot come back (the original contract's stream broke),
  /// even when the caller is cancelled.
  func abandon(_ id: SessionID) async {
    await Task {
      guard let session = try? await store.session(id), session.state == .open || session.state == .completing else {
        return
      }
      do {
        _ = try await discard(session, as: .aborted)
      } catch {
        logger.error("could not record a failed stream's session as aborted", metadata: ["session": "\(id)", "error": "\(error)"])
      }
    }.value
  }

  func existingSession(idempotencyKey: String, like session: SessionRecord) async throws(UploadError)
    -> SessionRecord?
  {
    try await store.session(owner: session.owner, idempotencyKey: idempotencyKey)
      .map { existing throws(UploadError) in try Self.checkSame(existing, as: session) }
  }

  static func checkSame(_ existing: SessionRecord, as requested: SessionRecord) throws(UploadError)
    -> SessionRecord
  {
    // A session created with an unknown size keeps its growing schedule once its size is fixed.
    let sameSize =
      requested.plan.isSizeKnown
      ? existing.plan.sizing.isUniform && existing.plan.size == requested.plan.size : !existing.plan.sizing.isUniform
    guard existing.key == requested.key, sameSize else {
      throw UploadError(
        .idempotencyConflict,
        "the idempotency key was used for session \(existing.id) (\"\(existing.key)\", \(existing.plan.size.map { "\($0) bytes" } ?? "unknown size")); use a new key for a different object")
    }
    return existing
  }
}
