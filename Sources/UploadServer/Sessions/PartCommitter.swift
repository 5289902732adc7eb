import NIOFileSystem
import Synchronization
import UploadCore

/// Puts received parts into the object store: takes the ETag of the part's forward when it
/// finished, else uploads the part from its spool file; then records the ETag and deletes the
/// spool file.
///
/// A part is committed by one task at a time: a second caller waits for the first one's result,
/// and a caller that comes later (CompleteSession with the part list it read before a stream's
/// commit finished) gets the result kept until the session is closed (`forget`), so no commit
/// starts from a spool file an earlier one already deleted. Nothing here holds a lock, so an
/// abort, an expiry or a shutdown never waits for the object store; `cancelAll` stops what is in
/// flight.
final class PartCommitter: Sendable {
  /// One receipt of a part: a part reset and received again (its generation moved on) is
  /// committed again, not answered with the commit of the bytes the store lost.
  private struct Key: Hashable {
    var session: SessionID
    var number: Int
    var generation: UInt64
  }

  private struct Running: Sendable {
    var id: Int
    var task: Task<PartRecord, any Error>
  }

  private let running = Mutex<(next: Int, byKey: [Key: Running])>((0, [:]))
  private let store: any SessionStore
  private let objectStore: any ObjectStore
  private let spool: Spool
  private let settings: SessionSettings

  init(store: any SessionStore, objectStore: any ObjectStore, spool: Spool, settings: SessionSettings) {
    self.store = store
    self.objectStore = objectStore
    self.spool = spool
    self.settings = settings
  }

  /// Commits `part` of `session` and returns it committed; a committed part is returned as it is.
  ///
  /// - Parameter forward: the part's upload while it arrived, if one ran.
  /// - Throws: `.partsMissing` for a part not received; the object store's errors (the part
  ///   stays received, and is committed again later).
  func commit(_ part: PartRecord, of session: SessionRecord, forward: ForwardedPart?) async throws(UploadError)
    -> PartRecord
  {
    if part.state == .committed { return part }
    let key = Key(session: session.id, number: part.number, generation: part.generation)
    let running = running.withLock { running -> Running in
      if let existing = running.byKey[key] { return existing }
      running.next += 1
      let id = running.next
      let task = Task {
        do {
          return try await self.perform(part, of: session, forward: forward)
        } catch {
          // A failed commit is tried again by the next caller.
          self.failed(key, id: id)
          throw error
        }
      }
      let entry = Running(id: id, task: task)
      running.byKey[key] = entry
      return entry
    }
    do {
      return try await running.task.value
    } catch let error as UploadError {
      throw error
    } catch {
      throw UploadError(.cancelled, "committing part \(part.number) of session \(session.id) was cancelled")
    }
  }

  /// Cancels every commit in flight (the server is stopping).
  func cancelAll() {
    for entry in running.withLock({ Array($0.byKey.values) }) { entry.task.cancel() }
  }

  /// Drops what is kept about `session`'s parts (it was completed, aborted or expired).
  func forget(_ session: SessionID) {
    running.withLock { running in
      running.byKey = running.byKey.filter { $0.key.session != session }
    }
  }

  private func failed(_ key: Key, id: Int) {
    running.withLock { running in
      if running.byKey[key]?.id == id { running.byKey[key] = nil }
    }
  }

  private func perform(_ part: PartRecord, of session: SessionRecord, forward: ForwardedPart?)
    async throws(UploadError) -> PartRecord
  {
    guard part.state == .received else {
      throw UploadError(.partsMissing, "part \(part.number) of session \(session.id) has not been received")
    }
    guard let uploadID = session.storageUploadID, let sha256 = part.sha256 else {
      throw UploadError(.internal, "part \(part.number) of session \(session.id) is received without an upload or a digest")
    }
    let path = spool.partFile(session: session.id, number: part.number)
    let etag: String
    if let forwarded = await forward?.etag() {
      etag = forwarded
    } else {
      let spooled = SpooledPart(number: part.number, path: path.string, size: part.size, sha256: sha256)
      do {
        etag = try await objectStore.uploadPart(key: session.key, uploadID: uploadID, part: spooled)
      } catch {
        // Committed meanwhile by a commit this one did not hear of (it deleted the spool file):
        // that is success, not a failure to report.
        if let now = try? await store.part(of: session.id, number: part.number), now.state == .committed {
          return now
        }
        if error.code == .digestMismatch {
          throw await discard(part, of: session, refusedWith: error)
        }
        throw error
      }
    }
    guard let now = try await store.commit(session.id, number: part.number, etag: etag, now: settings.nowMilliseconds)
    else {
      throw UploadError(.internal, "part \(part.number) of session \(session.id) is not in the store")
    }
    guard now.state == .committed else {
      throw UploadError(.partsMissing, "part \(part.number) of session \(session.id) was reset while it was committed")
    }
    await spool.removePart(session: session.id, number: part.number)
    return now
  }

  /// The store found that the part's bytes do not hash to its digest (the server did not hash
  /// them, or they changed on its disk): forgets the part, so that it is received again.
  private func discard(_ part: PartRecord, of session: SessionRecord, refusedWith error: UploadError)
    async -> UploadError
  {
    do {
      try await store.reset(part, to: 0)
    } catch {
      return error
    }
    await spool.removePart(session: session.id, number: part.number)
    return UploadError(
      .digestMismatch,
      "part \(part.number) of session \(session.id) does not hash to its declared SHA-256 \(part.sha256?.hex ?? "")"
        + " (\(error.message)); the part was reset, send it again")
  }
}
