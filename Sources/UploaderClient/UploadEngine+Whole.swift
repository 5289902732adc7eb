import Crypto
import Foundation
import GRPCCore
import NIOCore
import NIOFoundationCompat
import UploadCore
import UploadProtocol

extension UploadEngine {
  /// Whether `upload` goes in one exchange (`UploadObject`): a file that fits in one message,
  /// never begun as a session, to a server not yet found without the call.
  func sendsWhole(_ upload: JournalUpload) -> Bool {
    upload.sessionID == nil && !upload.readsStandardInput && upload.identity.size <= options.wholeObjectLimit
      && options.wholeObjects.admits(upload.identity.size)
  }

  /// Reads the file, sends it in one `UploadObject` exchange and records it completed, with
  /// the same retries as a session. Returns nil when the server cannot take it so, and the
  /// caller then sends the file as a session: the server has no `UploadObject` (an older
  /// server), or refuses the message's size (a --max-message-size below it: the transport drops
  /// the call, so a file larger than a chunk that is dropped is not sent whole again), both for
  /// the rest of the run; or the idempotency key names a session begun by `CreateSession`.
  func sendWhole(_ upload: JournalUpload) async throws -> Uploader_V1_Session? {
    let (bytes, sha256) = try await readWhole(upload)
    let request = Uploader_V1_UploadObjectRequest.with {
      $0.session = .with {
        $0.key = upload.key
        $0.size = UInt64(upload.identity.size)
        $0.idempotencyKey = upload.id
        $0.contentType = upload.attributes.contentType
        $0.metadata = upload.attributes.metadata
      }
      $0.data = Data(buffer: bytes)
      $0.sha256 = Data(sha256.bytes)
      $0.verify = upload.verify
    }
    let client = try wholeObjectClient(upload)
    let sent: Uploader_V1_Session? = try await retrying(
      options: options, onEvent: onEvent,
      progress: { 0 },
      unreachable: { unreachable(upload, attempts: $0) },
      exhausted: { exhausted(upload, attempts: $0, reason: $1) },
      permanent: { error in try await UploadFailure.permanent(error, upload.id, journal: journal, at: now()) }
    ) { contact in
      // --limit-rate counts these bytes as it counts a session's chunks, every attempt's.
      try await options.limiter?.acquire(bytes.readableBytes)
      do {
        let session = try await sendWhole(request, on: client)
        contact.made()
        return session
      } catch let error as RPCError where UploadFailure.needsSession(error) {
        contact.made()
        if error.code != .failedPrecondition { options.wholeObjects.withdraw() }
        return nil
      } catch let error as RPCError
        where (UploadFailure.isUnreachable(error) || error.code == .cancelled) && !Task.isCancelled
          && upload.identity.size > options.chunkSize
      {
        // Dropped: a lost link, or a message over the server's limit, which looks the same. A
        // file larger than a chunk goes as a session, in chunks a server that takes sessions
        // takes; the session meets a lost link again and waits it out there.
        options.wholeObjects.lower(to: Int64(options.chunkSize))
        return nil
      }
    }
    guard let sent else { return nil }
    try await journal.stored(upload.id, sessionID: sent.id, sha256: sha256, at: now())
    onEvent(.progress(done: upload.identity.size, total: upload.identity.size))
    return try await sent.finished(upload, client: client, metadata: options.metadata)
  }

  /// The completed session of `request`, from a call of its own or through the batcher.
  private func sendWhole(_ request: Uploader_V1_UploadObjectRequest, on client: Client) async throws
    -> Uploader_V1_Session
  {
    guard let batcher = options.wholeObjectBatcher else {
      return try await client.uploadObject(request, metadata: options.metadata).session
    }
    switch try await batcher.submit(request).result {
    case .session(let session): return session
    case .error(let error): throw error.rpcError
    case nil: throw RPCError(code: .internalError, message: "the server's result for \"\(request.session.key)\" is empty")
    }
  }

  /// The file's bytes and their SHA-256, read in one go.
  ///
  /// - Throws: `ClientError` when the file is not what the journal recorded, before or while
  ///   it is read, or cannot be read.
  private func readWhole(_ upload: JournalUpload) async throws -> (ByteBuffer, ContentHash) {
    let (bytes, before, after) = try await LocalFile.contents(of: upload.filePath, limit: Int(upload.identity.size))
    for identity in [before, after] {
      if let change = upload.identity.changes(to: identity) { throw Self.changed(upload, change) }
    }
    guard bytes.readableBytes == upload.identity.size else {
      throw Self.changed(upload, "\(bytes.readableBytes) bytes were read, not \(upload.identity.size)")
    }
    return (bytes, ContentHash(SHA256.hash(data: bytes.readableBytesView)))
  }

  /// The connection for a whole object: spread over all of them by the upload's id, so a
  /// batch's small files share every connection rather than queue on the first.
  private func wholeObjectClient(_ upload: JournalUpload) throws -> Client {
    let spread = upload.id.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF }
    switch links {
    case .fixed(let clients): return clients[spread % clients.count]
    case .opened(let connections): return try connections.client(spread % max(1, options.parallel))
    }
  }
}
