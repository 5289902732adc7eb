import AsyncHTTPClient
import Logging
import NIOFileSystem
import S3
import UploadCore

/// The stores a server runs on: where sessions are recorded and where objects go. The
/// configuration chooses them (`ServerConfiguration.makeStores`); tests and embedders may pass
/// their own to `UploaderServer`.
public struct ServerStores: Sendable {
  /// Sessions and parts.
  public var sessions: any SessionStore
  /// Objects.
  public var objects: any ObjectStore
  /// Releases what the stores hold (the S3 HTTP client), after the server stopped.
  public var shutdown: @Sendable () async -> Void

  /// Stores to run on; `shutdown` runs once the server has stopped.
  public init(sessions: any SessionStore, objects: any ObjectStore, shutdown: @escaping @Sendable () async -> Void = {}) {
    self.sessions = sessions
    self.objects = objects
    self.shutdown = shutdown
  }
}

extension ServerConfiguration {
  /// The stores this configuration names: PostgreSQL when a database is given, else SQLite in
  /// the data directory; S3 when a bucket is given, else the local directory store.
  ///
  /// - Throws: `UploadError` when the data directory or the database cannot be opened.
  public func makeStores(logger: Logger) async throws -> ServerStores {
    do {
      try await FileSystem.shared.createDirectory(at: FilePath(dataDirectory), withIntermediateDirectories: true)
    } catch {
      throw UploadError.fromFileSystem(error, while: "creating the data directory \(dataDirectory)")
    }
    let node = if let nodeID { nodeID } else { try await NodeIdentity.load(from: nodeIDPath) }
    let store =
      if let database {
        try await SQLSessionStore.postgres(url: database, node: node, logger: logger)
      } else {
        try SQLSessionStore.sqlite(path: databasePath, node: node)
      }
    let sessions: any SessionStore = store
    let closeSessions: @Sendable () -> Void = { store.close() }
    if discardsObjects {
      return ServerStores(sessions: sessions, objects: DiscardingStore(), shutdown: closeSessions)
    }
    guard let s3 else {
      let objects = LocalDirectoryStore(root: localStoreDirectory)
      do {
        try await objects.checkExtendedAttributes()
      } catch {
        closeSessions()
        throw error
      }
      return ServerStores(sessions: sessions, objects: objects, shutdown: closeSessions)
    }
    let client: HTTPClient
    do {
      client = try S3Client.makeHTTPClient(connections: s3Connections, caBundle: s3.caBundle)
    } catch {
      closeSessions()
      throw UploadError(.invalidRequest, error.message)
    }
    return ServerStores(
      sessions: sessions,
      objects: S3ObjectStore(client: S3Client(configuration: s3, httpClient: client, logger: logger)),
      shutdown: {
        try? await client.shutdown()
        closeSessions()
      })
  }
}
