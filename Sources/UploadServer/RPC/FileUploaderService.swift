import Foundation
import GRPCCore
import Logging
import Synchronization
import UploadCore
import UploadProtocol

/// `uploader.FileUploader/Upload`, the original contract, as a thin adapter over the session
/// engine: a client stream of `{filename, chunk}` messages becomes a session of unknown size
/// named by the first message's filename, owned by the caller, and completed when the stream
/// ends.
///
/// Later messages may repeat the filename or leave it empty; another name is an error. The
/// stream goes through the spool part by part (never buffered whole). Success is
/// `success: true` with a message naming the key, size and SHA-256; every failure is a gRPC
/// error status, and the session is then aborted, since this client cannot resume.
struct FileUploaderService: Uploader_FileUploader.ServiceProtocol {
  let sessions: SessionCoordinator
  let receiver: SessionReceiver
  let metrics: ServerMetrics
  let logger: Logger

  func upload(
    request: StreamingServerRequest<Uploader_UploadRequest>, context: ServerContext
  ) async throws -> ServerResponse<Uploader_UploadResponse> {
    metrics.activeStreams.increment()
    defer { metrics.activeStreams.decrement() }
    do {
      return ServerResponse(message: try await receive(request.messages, owner: Caller.principal))
    } catch {
      logger.warning("upload failed", metadata: ["error": "\(error)"])
      throw error
    }
  }

  private func receive(_ messages: RPCAsyncSequence<Uploader_UploadRequest, any Error>, owner: Principal)
    async throws(UploadError) -> Uploader_UploadResponse
  {
    var iterator = messages.makeAsyncIterator()
    let first: Uploader_UploadRequest
    do {
      guard let message = try await iterator.next() else {
        throw UploadError(.invalidRequest, "the stream has no message; the first message must carry the filename")
      }
      first = message
    } catch {
      throw UploadError.fromRequestStream(error)
    }
    let session = try await sessions.create(
      .init(key: first.filename, size: nil, origin: .originalContract), owner: owner)
    let whole = Mutex<(sha256: ContentHash, size: Int64)?>(nil)
    let chunks = ContractChunks(
      session: session, filename: first.filename, first: first.chunk, rest: iterator,
      digest: { digest, size in whole.withLock { $0 = (digest, size) } })
    do throws(UploadError) {
      try await receiver.receive(chunks, owner: owner) { _, _ in }
      guard let (sha256, size) = whole.withLock({ $0 }) else {
        throw UploadError(.internal, "the stream of \"\(session.key)\" ended without its digest")
      }
      let parts = try await sessions.parts(of: session.id)
      _ = try await sessions.complete(
        session.id, owner: owner, sha256: sha256, partSHA256s: parts.compactMap(\.sha256))
      logger.info(
        "stored object",
        metadata: ["key": "\(session.key)", "size": "\(size)", "sha256": "\(sha256)", "session": "\(session.id)"])
      return .with {
        $0.success = true
        $0.message = "stored \(session.key) (\(size) bytes, sha256 \(sha256.hex))"
      }
    } catch {
      await sessions.abandon(session.id)
      throw error
    }
  }
}
