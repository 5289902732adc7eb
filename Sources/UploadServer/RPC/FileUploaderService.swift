import Foundation
import GRPCCore
import Logging
import UploadCore
import UploadProtocol

/// `uploader.FileUploader/Upload`, the original contract: a client stream of
/// `{filename, chunk}` messages becomes one object named by the first message's filename.
///
/// Later messages may repeat the filename or leave it empty; another name is an error. The
/// stream is staged part by part (never buffered whole); success is `success: true` with a
/// message naming the key, size and SHA-256, and every failure is a gRPC error status.
struct FileUploaderService: Uploader_FileUploader.ServiceProtocol {
  let uploads: StreamingUploadFactory
  let metrics: ServerMetrics
  let logger: Logger

  func upload(
    request: StreamingServerRequest<Uploader_UploadRequest>, context: ServerContext
  ) async throws -> ServerResponse<Uploader_UploadResponse> {
    metrics.activeStreams.increment()
    defer { metrics.activeStreams.decrement() }
    do {
      return ServerResponse(message: try await receive(request.messages))
    } catch {
      logger.warning("upload failed", metadata: ["error": "\(error)"])
      throw error
    }
  }

  private func receive(_ messages: RPCAsyncSequence<Uploader_UploadRequest, any Error>)
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
      throw Self.streamError(error)
    }
    let key = try uploads.placement.key(first.filename, for: Caller.principal)
    var pending: Data? = first.chunk

    let result = try await uploads.make(key: key).run {
      if let chunk = pending {
        pending = nil
        return chunk
      }
      let message: Uploader_UploadRequest?
      do {
        message = try await iterator.next()
      } catch {
        throw Self.streamError(error)
      }
      guard let message else { return nil }
      guard message.filename.isEmpty || message.filename == first.filename else {
        throw UploadError(
          .invalidRequest,
          "the stream changed filename from \"\(first.filename)\" to \"\(message.filename)\"; one stream carries one file")
      }
      return message.chunk
    }
    logger.info(
      "stored object",
      metadata: [
        "key": "\(key)", "size": "\(result.size)", "sha256": "\(result.sha256)",
        "parts": "\(result.partCount)", "location": "\(result.object.location)",
      ])
    return .with {
      $0.success = true
      $0.message = "stored \(key) (\(result.size) bytes, sha256 \(result.sha256.hex))"
    }
  }

  /// A failure reading the request stream: the client cancelled or the connection broke.
  private static func streamError(_ error: any Error) -> UploadError {
    UploadError.fromRequestStream(error)
  }
}
