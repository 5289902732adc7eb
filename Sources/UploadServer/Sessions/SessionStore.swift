import UploadCore

/// Where sessions and parts are kept. Hides SQLite, so another database can take its place
/// without touching the coordinator. Every method throws `UploadError`.
///
/// Part ownership lives here: a writer `claim`s a part and gets a generation, and every update it
/// makes is refused (`.partTakenOver`) once a newer writer has claimed the part, wherever that
/// writer runs.
public protocol SessionStore: Sendable {
  /// Fails when the database cannot be reached or read.
  func ping() async throws(UploadError)

  /// Inserts a session and its parts, or returns the session already created by the same owner
  /// with the same idempotency key (with `created` false).
  func create(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> (session: SessionRecord, created: Bool)

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

  /// Open or completing sessions that have received parts not yet committed, with those parts.
  func sessionsWithReceivedParts() async throws(UploadError) -> [(SessionRecord, [Int])]

  /// Sessions given up whose multipart upload still has to be aborted.
  func sessionsWithPendingAborts() async throws(UploadError) -> [SessionRecord]

  /// The number of sessions in each state.
  func countsByState() async throws(UploadError) -> [SessionState: Int]

  /// Replaces a session's row.
  func update(_ session: SessionRecord) async throws(UploadError)

  /// Makes the caller part `number`'s writer: creates the part (`size` bytes) if the session has
  /// no row for it yet (sessions of unknown size), and moves its generation on. Returns the part
  /// with the caller's generation.
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
  /// the object store than recorded. A writer that held the part is refused from then on.
  func reset(_ part: PartRecord, to receivedBytes: Int64) async throws(UploadError)
}

extension SessionStore {
  /// `update(_:sessionUpdatedAt:expiresAt:endingObject:)` for any part but the final one of a
  /// session of unknown size.
  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64) async throws(UploadError) {
    try await update(part, sessionUpdatedAt: sessionUpdatedAt, expiresAt: expiresAt, endingObject: nil)
  }
}
