import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFileSystem
import NIOHTTP1

/// How `S3Client` reaches S3: signs each request with SigV4, sends it (streaming a file body
/// from disk), turns error statuses into `S3Error`, and retries what may be retried (5xx,
/// SlowDown, connection failures; never another 4xx) with exponential backoff and full jitter.
struct S3Transport: Sendable {
  let configuration: S3Configuration
  let httpClient: HTTPClient
  let signer: SigV4Signer
  let now: @Sendable () -> Date
  let unitRandom: @Sendable () -> Double
  let sleep: @Sendable (Duration) async throws -> Void
  let logger: Logger

  /// File bodies are read in chunks of this size. The reader prefetches up to 8 chunks, so
  /// this bounds the memory of each part upload in flight (2 MiB).
  static let fileChunkLength: ByteCount = .kibibytes(256)

  /// The largest response body we collect (S3's XML documents are far smaller).
  static let maximumResponseBody = 16 << 20

  /// Sends `request`, retrying per the retry policy, and collects the response body.
  ///
  /// - Throws: `S3Error` (or `CancellationError` when the task is cancelled).
  func send(_ request: S3Request) async throws -> S3Response {
    let once = {
      try await self.attempt(request) { response in
        let body = try await response.body.collect(upTo: Self.maximumResponseBody)
        return S3Response(status: response.status, headers: response.headers, body: body)
      }
    }
    return request.retries ? try await retrying(request.operation, once) : try await once()
  }

  /// Runs `body` until it succeeds, fails with a non-retryable error, or the policy gives up.
  func retrying<T: Sendable>(
    _ operation: String, _ body: () async throws -> T
  ) async throws -> T {
    var attempt = 1
    while true {
      do {
        return try await body()
      } catch let error as S3Error where error.isRetryable && !Task.isCancelled {
        guard configuration.retryPolicy.allowsRetry(after: attempt) else { throw error }
        let delay = configuration.retryPolicy.delay(after: attempt, unitRandom: unitRandom())
        logger.warning(
          "S3 \(operation) failed, retrying",
          metadata: ["error": "\(error)", "attempt": "\(attempt)", "delay": "\(delay)"])
        try await sleep(delay)
        attempt += 1
      }
    }
  }

  /// One try: signs, sends, turns error statuses into `S3Error`, and hands a 2xx response to
  /// `handle` while the request body's file (if any) is still open.
  func attempt<T: Sendable>(
    _ request: S3Request, handle: (HTTPClientResponse) async throws -> T
  ) async throws -> T {
    let (base, host, prefix) = configuration.addressing
    var path = prefix
    if let key = request.key { path += "/" + URIEncoding.encodePath(key) }
    if path.isEmpty { path = "/" }
    let query = SigV4Signer.canonicalQuery(request.query)

    var headers = request.headers
    headers.append(("host", host))
    let signed = signer.sign(
      method: request.method.rawValue, encodedPath: path, query: request.query, headers: headers,
      payloadHash: request.payloadHash, date: now())

    var http = HTTPClientRequest(url: base + path + (query.isEmpty ? "" : "?" + query))
    http.method = request.method
    for (name, value) in signed { http.headers.add(name: name, value: value) }

    do {
      switch request.body {
      case .empty:
        // PUT and POST always carry a Content-Length, even when it is 0.
        if request.method == .PUT || request.method == .POST { http.body = .bytes(ByteBuffer()) }
        return try await execute(http, request, handle)
      case .bytes(let buffer):
        http.body = .bytes(buffer)
        return try await execute(http, request, handle)
      case .file(let filePath, let offset, let length):
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(filePath)) { file in
          http.body = .stream(
            file.readChunks(in: offset..<(offset + length), chunkLength: Self.fileChunkLength),
            length: .known(length))
          return try await execute(http, request, handle)
        }
      case .growingFile(let filePath, let length, let available):
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(filePath)) { file in
          http.body = .stream(
            GrowingFileChunks(file: file, length: length, chunkLength: Self.fileChunkLength, available: available),
            length: .known(length))
          return try await execute(http, request, handle)
        }
      }
    } catch let error as S3Error {
      throw error
    } catch is CancellationError {
      throw CancellationError()
    } catch let error as FileSystemError {
      throw S3Error(
        code: .init(rawValue: "LocalFileError"), httpStatus: nil,
        message: "could not read the request body: \(error)", operation: request.operation)
    } catch {
      throw S3Error(
        code: .connectionFailed, httpStatus: nil, message: "\(error)", operation: request.operation)
    }
  }

  private func execute<T: Sendable>(
    _ http: HTTPClientRequest, _ request: S3Request, _ handle: (HTTPClientResponse) async throws -> T
  ) async throws -> T {
    let response = try await httpClient.execute(
      http, timeout: .nanoseconds(Int64(configuration.requestTimeout.components.seconds) * 1_000_000_000))
    guard (200..<300).contains(response.status.code) else {
      let body = try? await response.body.collect(upTo: 1 << 20)
      throw S3Error.decode(operation: request.operation, status: Int(response.status.code), headers: response.headers, body: body)
    }
    return try await handle(response)
  }
}
