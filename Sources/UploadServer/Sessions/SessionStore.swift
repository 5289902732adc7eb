import UploadCore

/// Where sessions and parts are kept. Hides SQLite, so another database can take its place
/// without touching the coordinator. Every method throws `UploadError`.
///
/// Part ownership lives here: a writer `claim`s a part and gets a generation, and every update it
/// makes is refused (`.partTakenOver`) once a newer writer has claimed the part, wherever that
/// writer runs.
///
/// A store handle belongs to one node (one server and its spool, `node`). Several nodes may
/// share a database: a part being received is held by the node whose spool has its bytes, and
/// background work is taken so that each piece of it is done by one node.
public protocol SessionStore: Sendable {
  /// The node this handle works for: the holder it records when it claims a part.
  var node: String { get }

  /// Fails when the database cannot be reached or read.
  func ping() async throws(UploadError)

  /// Records that `node` is alive at `now` (milliseconds).
  func heartbeat(now: Int64) async throws(UploadError)

  /// The nodes whose last heartbeat is at or after `time`, this one included once it beat.
  func nodes(heartbeatSince time: Int64) async throws(UploadError) -> [String]

  /// Resets the parts not yet committed held by nodes whose last heartbeat is before
  /// `lapsedBefore`, other than this one: their bytes are on a disk nobody serves, so they go
  /// back to 0 with no holder and a new generation. Returns the parts as they were.
  func resetPartsOfLapsedNodes(lapsedBefore: Int64) async throws(UploadError) -> [PartRecord]

  /// Inserts a session and its parts, or returns the session already created by the same owner
  /// with the same idempotency key (with `created` false). Parts start receiving, with nothing
  /// received and no holder, whatever `parts` say besides their numbers and sizes.
  func create(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> (session: SessionRecord, created: Bool)

  /// Records objects stored whole (`UploadObject`, `UploadObjects`), all in one transaction:
  /// inserts each session, completed, with its parts committed as they say (one, or none for an
  /// empty object), and with `notify` queues its completion event. For a session whose owner
  /// created one earlier with the same idempotency key, returns that one instead (with
  /// `created` false), as it is. Results are in the order of `objects`.
  func insertCompleted(_ objects: [(session: SessionRecord, parts: [PartRecord])], notify: Bool)
    async throws(UploadError) -> [(session: SessionRecord, created: Bool)]

  /// The sessions `owner` created with any of `idempotencyKeys` (at most 256), in no order.
  func sessions(owner: String, idempotencyKeys: [String]) async throws(UploadError) -> [SessionRecord]

  /// The session, or nil.
  func session(_ id: SessionID) async throws(UploadError) -> SessionRecord?

  /// The session `owner` created with `idempotencyKey`, or nil.
  func session(owner: String, idempotencyKey: String) async throws(UploadError) -> SessionRecord?

  /// The session's parts, in order.
  func parts(of id: SessionID) async throws(UploadError) -> [PartRecord]

  /// One part, or nil.
  func part(of id: SessionID, number: Int) async throws(UploadError) -> PartRecord?

  /// `owner`'s sessions newest first, after the cursor `(createdAt, id)` of the previous page's
  /// last one.
  func sessions(owner: String, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int)
    async throws(UploadError) -> [SessionRecord]

  /// The number of `owner`'s sessions that are open or completing.
  func openSessionCount(owner: String) async throws(UploadError) -> Int

  /// Sessions in `states`, oldest first.
  func sessions(in states: Set<SessionState>) async throws(UploadError) -> [SessionRecord]

  /// Open or completing sessions whose expiry time is at or before `time`.
  func sessionsExpiring(before time: Int64) async throws(UploadError) -> [SessionRecord]

  /// Open or completing sessions that have received parts not yet committed, held by this
  /// node or by none (recorded before nodes were), with those parts.
  func sessionsWithReceivedParts() async throws(UploadError) -> [(SessionRecord, [Int])]

  /// Takes the sessions given up whose multipart upload still has to be aborted and that no
  /// other node has taken since `now`: they are this node's until `leaseUntil`. At most
  /// `abortBatch`, the longest waiting first.
  func takePendingAborts(now: Int64, leaseUntil: Int64) async throws(UploadError) -> [SessionRecord]

  /// Gives back a pending abort taken with `takePendingAborts`: done when the multipart upload
  /// is aborted, else pending again for any node to take.
  func finishAbort(_ id: SessionID, done: Bool) async throws(UploadError)

  /// Gives up an open or completing session: records `state` (aborted or expired), and a
  /// pending abort when it has a multipart upload. Returns the session as it is now, or nil
  /// when it was not open or completing (another node or call closed it first).
  /// With `notify`, the event of the new state is queued in the notification outbox in the
  /// same transaction.
  func close(_ id: SessionID, as state: SessionState, now: Int64, notify: Bool) async throws(UploadError)
    -> SessionRecord?

  /// The number of sessions in each state.
  func countsByState() async throws(UploadError) -> [SessionState: Int]

  /// Replaces a session's row; with `notify`, queues the event of its state in the notification
  /// outbox in the same transaction (once: queuing an event again does nothing).
  func update(_ session: SessionRecord, notify: Bool) async throws(UploadError)

  /// Takes up to `limit` queued notifications due at `now` that no node holds: they are this
  /// node's until `leaseUntil`. Oldest first.
  func takeDueNotifications(now: Int64, leaseUntil: Int64, limit: Int) async throws(UploadError)
    -> [QueuedNotification]

  /// Gives back a notification taken with `takeDueNotifications`: delivered, it leaves the
  /// outbox; otherwise it counts one more attempt, records `error` and is due again at `retryAt`.
  func finishNotification(_ id: String, delivered: Bool, retryAt: Int64, error: String?) async throws(UploadError)

  /// The number of notifications queued and not yet delivered.
  func queuedNotificationCount() async throws(UploadError) -> Int

  /// Makes the caller part `number`'s writer: creates the part (`size` bytes) if the session has
  /// no row for it yet (sessions of unknown size), and moves its generation on. A part still
  /// receiving becomes this node's; when another node held it, it starts again from 0, since
  /// its bytes are on that node's disk. Returns the part with the caller's generation.
  func claim(_ id: SessionID, number: Int, size: Int64, now: Int64) async throws(UploadError) -> PartRecord

  /// Replaces a part's row, if `part.generation` is still the part's, and in the same transaction
  /// moves its session's `updatedAt` and `expiresAt`. With `endingObject`, the part is the final
  /// one of a session of unknown size: the session's size becomes `endingObject` bytes and parts
  /// past the end are dropped.
  ///
  /// - Throws: `.partTakenOver` when a newer writer claimed the part; `.invalidRequest` when
  ///   parts past the end already hold bytes.
  func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64, endingObject: Int64?)
    async throws(UploadError)

  /// Records that a received part is in the object store with `etag`. Returns the part as it is
  /// now: committed by this call or an earlier one, or not received after all (reset meanwhile).
  func commit(_ id: SessionID, number: Int, etag: String, now: Int64) async throws(UploadError) -> PartRecord?

  /// Puts a part back to `receivedBytes` (0: forgotten) after recovery found less on disk or in
  /// the object store than recorded. A writer that held the part is refused from then on; with
  /// bytes kept, this node holds the part.
  func reset(_ part: PartRecord, to receivedBytes: Int64) async throws(UploadError)
}

extension SessionStore {
  /// The most pending aborts `takePendingAborts` hands out at once.
  public static var abortBatch: Int { 100 }
}

extension SessionStore {
  /// `update(_:sessionUpdatedAt:expiresAt:endingObject:)` for any part but the final one of a
  /// session of unknown size.
  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64) async throws(UploadError) {
    try await update(part, sessionUpdatedAt: sessionUpdatedAt, expiresAt: expiresAt, endingObject: nil)
  }

  /// Replaces a session's row (no notification).
  public func update(_ session: SessionRecord) async throws(UploadError) {
    try await update(session, notify: false)
  }
}
