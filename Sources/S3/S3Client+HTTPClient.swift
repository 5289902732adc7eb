import AsyncHTTPClient
import NIOSSL

extension S3Client {
  /// An HTTP client configured for S3. Its owner shuts it down.
  ///
  /// A refused connection is retried by AsyncHTTPClient until the connect timeout (10 s by
  /// default); a short one leaves it to the retry policy to decide how long S3 may be away.
  ///
  /// - Parameter connections: the most requests to S3 in flight at once; more wait for a
  ///   connection. AsyncHTTPClient's default is 8, fewer than a server's part uploads, and a part
  ///   forwarded while it arrives holds its connection for as long as its client sends.
  /// - Parameter caBundle: a PEM file of certificate authorities to trust instead of the
  ///   system's (`S3Configuration.caBundle`).
  /// - Throws: `S3ConfigurationError` when `caBundle` holds no readable certificate.
  public static func makeHTTPClient(connections: Int = 8, caBundle: String? = nil) throws(S3ConfigurationError)
    -> HTTPClient
  {
    var configuration = HTTPClient.Configuration()
    if let caBundle {
      var tls = TLSConfiguration.makeClientConfiguration()
      do {
        let certificates = try NIOSSLCertificate.fromPEMFile(caBundle)
        guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
        tls.trustRoots = .certificates(certificates)
      } catch {
        throw S3ConfigurationError("AWS_CA_BUNDLE \(caBundle): not a readable PEM file of certificates (\(error))")
      }
      configuration.tlsConfiguration = tls
    }
    configuration.timeout.connect = .seconds(3)
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }
}
