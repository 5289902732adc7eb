import Foundation
import UploadCore
import UploadProtocol

/// Uploads files to an uploader-server, resumably: the library behind the `uploader` CLI.
///
/// Every upload is recorded in a journal (SQLite, in `stateDirectory`) before its first byte is
/// sent, so an upload interrupted by anything, including the end of the process, continues with
/// `resume(_:)` from where the server's durable data ends. While an upload runs it reconnects by
/// itself when the link or the server drops.
///
/// ```swift
/// let uploader = try Uploader(connection: ServerConnection(server: "127.0.0.1:50051"), stateDirectory: "state")
/// let upload = try await uploader.upload(file: "backup.tar", options: UploadOptions(verify: true))
/// for await case .progress(let done, let total) in upload.events { print(done, total ?? 0) }
/// let result = try await upload.result
/// ```
public struct Uploader: Sendable {
  /// The server, token and TLS.
  public let connection: ServerConnection
  /// Where uploads are remembered.
  public let journal: Journal

  /// An uploader that keeps its journal in `stateDirectory` (created if needed).
  ///
  /// - Throws: when the journal cannot be opened there.
  public init(connection: ServerConnection, stateDirectory: String) throws {
    self.connection = connection
    self.journal = try Journal.open(directory: stateDirectory)
  }

  /// Records an upload of the file at `path` and starts it.
  ///
  /// - Parameter key: the object key; nil uses the file's base name.
  /// - Returns: the running upload; its `id` is already in the journal.
  /// - Throws: `ClientError` for a file that cannot be read; `UploadError` for bad options
  ///   (part size, content type, metadata).
  public func upload(file path: String, key: String? = nil, options: UploadOptions = UploadOptions()) async throws
    -> RunningUpload
  {
    let attributes = try ObjectAttributes.validated(
      contentType: options.contentType ?? MediaType.guess(forFileName: path) ?? "", metadata: options.metadata)
    let upload = try await journal.record(
      file: path, key: key, server: connection.description, partSize: options.partSize,
      spreadOver: options.maximumConnections ?? options.parallel, attributes: attributes,
      verify: options.verify)
    return start(upload, options: options)
  }

  /// Continues an upload from the journal (its local id, or its server session id).
  ///
  /// - Throws: `ClientError` when the journal has no such upload, or it cannot continue
  ///   (completed, aborted, expired, or read from standard input).
  public func resume(_ id: String, options: UploadOptions = UploadOptions()) async throws -> RunningUpload {
    let upload = try await status(id)
    guard [.pending, .uploading, .failed].contains(upload.state), !upload.readsStandardInput else {
      let reason = upload.readsStandardInput ? "read standard input, which cannot be read again" : "is \(upload.state.rawValue)"
      throw ClientError("upload \(upload.id) \(reason); it cannot be resumed", journalState: nil)
    }
    return start(upload, options: options)
  }

  /// The upload as the journal has it (its local id, or its server session id).
  ///
  /// - Throws: `ClientError` when the journal has no such upload.
  public func status(_ id: String) async throws -> JournalUpload {
    guard let upload = try await journal.upload(id) else {
      throw ClientError("no upload \(id) in the journal", journalState: nil)
    }
    return upload
  }

  /// Aborts an upload: the server discards what it received, and the journal records it.
  ///
  /// - Throws: `ClientError` for an unknown or completed upload; the server's error when it
  ///   could not be told (the journal is then unchanged: try again).
  public func abort(_ id: String) async throws {
    let upload = try await status(id)
    guard upload.state != .completed else {
      throw ClientError("upload \(upload.id) is completed; nothing to abort", journalState: nil)
    }
    if let sessionID = upload.sessionID {
      _ = try await connection.withClients(1) { clients, metadata in
        try await clients[0].abortSession(.with { $0.sessionID = sessionID }, metadata: metadata)
      }
    }
    try await journal.finish(upload.id, state: .aborted, at: Int64(Date().timeIntervalSince1970 * 1000))
  }

  private func start(_ upload: JournalUpload, options: UploadOptions) -> RunningUpload {
    let (events, sink) = AsyncStream.makeStream(of: UploadEngine.Event.self, bufferingPolicy: .bufferingNewest(64))
    let (connection, journal) = (connection, journal)
    let task = Task {
      defer { sink.finish() }
      let session = try await connection.withConnections { connections in
        var engineOptions = UploadEngine.Options()
        engineOptions.parallel = options.parallel
        engineOptions.maximumParallel = options.maximumConnections
        engineOptions.limiter = options.bytesPerSecond.map(RateLimiter.init(bytesPerSecond:))
        engineOptions.server = connection.description
        engineOptions.metadata = connections.metadata
        let engine = UploadEngine(connections: connections, journal: journal, options: engineOptions, onEvent: { sink.yield($0) })
        return try await engine.run(upload)
      }
      return UploadResult(upload, session: session, journal: try await journal.upload(upload.id) ?? upload)
    }
    return RunningUpload(id: upload.id, events: events, task: task)
  }
}
