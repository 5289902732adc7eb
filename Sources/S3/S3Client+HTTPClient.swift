import AsyncHTTPClient

extension S3Client {
  /// An HTTP client configured for S3. Its owner shuts it down.
  ///
  /// A refused connection is retried by AsyncHTTPClient until the connect timeout (10 s by
  /// default); a short one leaves it to the retry policy to decide how long S3 may be away.
  public static func makeHTTPClient() -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.timeout.connect = .seconds(3)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }
}
