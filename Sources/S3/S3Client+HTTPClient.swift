import AsyncHTTPClient

extension S3Client {
  /// An HTTP client configured for S3. Its owner shuts it down.
  ///
  /// A refused connection is retried by AsyncHTTPClient until the connect timeout (10 s by
  /// default); a short one leaves it to the retry policy to decide how long S3 may be away.
  ///
  /// - Parameter connections: the most requests to S3 in flight at once; more wait for a
  ///   connection. AsyncHTTPClient's default is 8, fewer than a server's part uploads, and a part
  ///   forwarded while it arrives holds its connection for as long as its client sends.
  public static func makeHTTPClient(connections: Int = 8) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.timeout.connect = .seconds(3)
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }
}
