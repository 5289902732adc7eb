import Crypto
import Foundation
import Logging
import NIOFileSystem
import UploadCore

/// Moves a stream of unknown length into one object through the spool.
///
/// Chunks are written to the spool file of the current part while SHA-256 is computed on the
/// fly. A full part is uploaded from its spool file by a child task, at most
/// `maximumConcurrentParts` at a time; when that many are in flight the stream is not read, so
/// gRPC flow control holds the client back and memory stays at a few chunks whatever the size.
///
/// The multipart upload is created only once a part is full; a stream that ends before that
/// becomes one PutObject (which covers empty objects). On any failure, including the client
/// going away, the multipart upload is aborted and the spool is removed.
struct StreamingUpload {
  let key: ObjectKey
  let store: any ObjectStore
  let spool: Spool
  let sizing: PartSizing
  let maximumConcurrentParts: Int
  /// The largest object accepted (`--max-object-size`).
  let maximumSize: Int64
  let aborts: AbortRetrier
  let metrics: ServerMetrics
  let logger: Logger

  /// What the stream became.
  struct Result: Sendable {
    var object: StoredObject
    var size: Int64
    var sha256: ContentHash
    var partCount: Int
  }

  /// Consumes chunks from `nextChunk` until it returns nil, then stores the object.
  ///
  /// - Throws: `UploadError`; nothing is left in the store or the spool when it throws.
  func run(nextChunk: () async throws -> Data?) async throws(UploadError) -> Result {
    let directory: FilePath
    do {
      directory = try await spool.makeStreamDirectory()
    } catch {
      throw UploadError.fromFileSystem(error, while: "preparing the spool for \"\(key)\"")
    }
    var state = State()
    do {
      let result = try await stream(into: directory, state: &state, nextChunk: nextChunk)
      await spool.remove(directory)
      return result
    } catch {
      await cleanUp(directory: directory, uploadID: state.uploadID, after: error)
      throw UploadError.fromFileSystem(error, while: "receiving \"\(key)\"")
    }
  }

  /// What the error path needs to know to clean up.
  private struct State {
    var uploadID: String?
  }

  private func stream(
    into directory: FilePath, state: inout State, nextChunk: () async throws -> Data?
  ) async throws -> Result {
    var whole = SHA256()
    var total: Int64 = 0
    var part = try await PartWriter.create(
      in: directory, number: 1, capacity: sizing.partSize(forPart: 1), budget: spool.budget)

    return try await withThrowingTaskGroup(of: CommittedPart.self) { group in
      var committed: [CommittedPart] = []
      var inFlight = 0
      do {
        while let chunk = try await nextChunk() {
          guard Int64(chunk.count) <= maximumSize - total else {
            throw UploadError(
              .objectTooLarge, "\"\(key)\" is larger than \(maximumSize) bytes, the most this server accepts")
          }
          var rest = chunk[...]
          while !rest.isEmpty {
            let piece = rest.prefix(Int(min(Int64(rest.count), part.remaining)))
            try await part.write(Data(piece))
            whole.update(data: piece)
            total += Int64(piece.count)
            metrics.bytesReceived.increment(by: piece.count)
            rest = rest.dropFirst(piece.count)
            guard part.remaining == 0 else { continue }

            if state.uploadID == nil { try await startUpload(&state) }
            let uploadID = state.uploadID!
            if inFlight == maximumConcurrentParts, let done = try await group.next() {
              committed.append(done)
              inFlight -= 1
            }
            let spooled = try await part.finish()
            group.addTask { try await self.commit(spooled, uploadID: uploadID) }
            inFlight += 1
            let next = part.number + 1
            guard next <= PartSizing.maximumPartCount else {
              throw UploadError(.objectTooLarge, "\"\(key)\" is larger than \(PartSizing.maximumPartCount) parts can hold")
            }
            part = try await PartWriter.create(
              in: directory, number: next, capacity: sizing.partSize(forPart: next), budget: spool.budget)
          }
        }
      } catch {
        await part.discard()
        throw error
      }

      let sha256 = ContentHash(whole.finalize())
      guard let uploadID = state.uploadID else {
        // The whole stream fits in one part: one PutObject, empty objects included.
        let object = try await store.putObject(key: key, part: try await part.finish())
        return Result(object: object, size: total, sha256: sha256, partCount: 1)
      }
      if part.size > 0 {
        let spooled = try await part.finish()
        group.addTask { try await self.commit(spooled, uploadID: uploadID) }
      } else {
        await part.discard()
      }
      while let done = try await group.next() { committed.append(done) }
      let object = try await store.completeUpload(key: key, uploadID: uploadID, parts: committed)
      return Result(object: object, size: total, sha256: sha256, partCount: committed.count)
    }
  }

  private func startUpload(_ state: inout State) async throws {
    let uploadID = try await store.createUpload(key: key)
    state.uploadID = uploadID
    logger.debug("multipart upload started", metadata: ["upload_id": "\(uploadID)"])
  }

  /// Uploads one part from the spool, then deletes its spool file.
  private func commit(_ part: SpooledPart, uploadID: String) async throws -> CommittedPart {
    let etag = try await store.uploadPart(key: key, uploadID: uploadID, part: part)
    _ = try? await FileSystem.shared.removeItem(at: FilePath(part.path))
    return CommittedPart(number: part.number, etag: etag, size: part.size, sha256: part.sha256)
  }

  /// Aborts the multipart upload and removes the spool, even when the task is cancelled (the
  /// usual case: the client went away). An abort that fails is retried in the background.
  private func cleanUp(directory: FilePath, uploadID: String?, after error: any Error) async {
    let (key, store, spool, aborts, logger) = (key, store, spool, aborts, logger)
    await Task {
      await spool.remove(directory)
      guard let uploadID else { return }
      do {
        try await store.abortUpload(key: key, uploadID: uploadID)
        logger.info(
          "stream failed; its multipart upload is aborted",
          metadata: ["upload_id": "\(uploadID)", "error": "\(error)"])
      } catch let abortError {
        logger.warning(
          "stream failed and its multipart upload could not be aborted yet; retrying in the background",
          metadata: ["upload_id": "\(uploadID)", "error": "\(error)", "abort_error": "\(abortError)"])
        aborts.add(key: key, uploadID: uploadID)
      }
    }.value
  }
}
