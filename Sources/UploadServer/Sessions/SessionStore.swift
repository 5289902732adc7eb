import UploadCore

/// Where sessions and parts are kept. Hides SQLite, so another database can take its place
/// without touching the coordinator. Every method throws `UploadError`.
public protocol SessionStore: Sendable {
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

  /// The number of sessions in each state.
  func countsByState() async throws(UploadError) -> [SessionState: Int]

  /// Replaces a session's row.
  func update(_ session: SessionRecord) async throws(UploadError)

  /// Replaces a part's row and, in the same transaction, moves its session's `updatedAt` and
  /// `expiresAt`.
  func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64) async throws(UploadError)
}
