import Foundation
import UploadCore

/// Where and how to reach an S3 bucket.
public struct S3Configuration: Sendable {
  /// A custom endpoint (`http://127.0.0.1:8333`), or nil for AWS (`https://s3.REGION.amazonaws.com`).
  public var endpoint: URL?
  /// The signing region.
  public var region: String
  /// The bucket.
  public var bucket: String
  /// The signing credentials.
  public var credentials: S3Credentials
  /// Retries for 5xx, SlowDown and connection failures.
  public var retryPolicy: RetryPolicy
  /// The longest a single request may take, body included.
  public var requestTimeout: Duration
  /// A PEM file of the certificate authorities to trust for an HTTPS endpoint
  /// (`AWS_CA_BUNDLE`), instead of the system's: for S3-compatible servers with a private CA.
  public var caBundle: String?

  /// Creates a configuration.
  public init(
    endpoint: URL?, region: String, bucket: String, credentials: S3Credentials,
    retryPolicy: RetryPolicy = .standard, requestTimeout: Duration = .seconds(300)
  ) {
    self.endpoint = endpoint
    self.region = region
    self.bucket = bucket
    self.credentials = credentials
    self.retryPolicy = retryPolicy
    self.requestTimeout = requestTimeout
  }

  /// Reads the standard AWS variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
  /// `AWS_SESSION_TOKEN`, `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`) and
  /// `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`) and `AWS_CA_BUNDLE`. Explicit arguments win
  /// over the environment.
  ///
  /// - Throws: `S3ConfigurationError` naming the missing or malformed setting.
  public static func fromEnvironment(
    _ environment: [String: String], bucket: String, endpoint: String? = nil, region: String? = nil
  ) throws(S3ConfigurationError) -> S3Configuration {
    func value(_ name: String) -> String? {
      guard let value = environment[name], !value.isEmpty else { return nil }
      return value
    }
    guard !bucket.isEmpty else { throw S3ConfigurationError("the S3 bucket name is empty") }
    guard let accessKey = value("AWS_ACCESS_KEY_ID"), let secretKey = value("AWS_SECRET_ACCESS_KEY")
    else {
      throw S3ConfigurationError(
        "S3 credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    }
    var endpointURL: URL?
    if let text = endpoint ?? value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL") {
      guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
        url.host != nil
      else {
        throw S3ConfigurationError("the S3 endpoint \"\(text)\" is not an http(s) URL")
      }
      endpointURL = url
    }
    var configuration = S3Configuration(
      endpoint: endpointURL,
      region: region ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1",
      bucket: bucket,
      credentials: S3Credentials(
        accessKeyID: accessKey, secretAccessKey: secretKey, sessionToken: value("AWS_SESSION_TOKEN"))
    )
    configuration.caBundle = value("AWS_CA_BUNDLE")
    return configuration
  }

  /// The scheme, host header and path prefix of requests: path-style for custom endpoints,
  /// virtual-hosted style for AWS.
  var addressing: (base: String, host: String, pathPrefix: String) {
    if let endpoint, let host = endpoint.host {
      let scheme = endpoint.scheme ?? "http"
      let hostHeader = endpoint.port.map { "\(host):\($0)" } ?? host
      var prefix = endpoint.path
      while prefix.hasSuffix("/") { prefix.removeLast() }
      return ("\(scheme)://\(hostHeader)", hostHeader, prefix + "/" + URIEncoding.encodePath(bucket))
    }
    let host = "\(bucket).s3.\(region).amazonaws.com"
    return ("https://\(host)", host, "")
  }
}

/// A setting that cannot work, found before any request is made.
public struct S3ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What is wrong and how to fix it.
  public let message: String
  init(_ message: String) { self.message = message }
  public var description: String { message }
}
