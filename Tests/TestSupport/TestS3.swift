import AsyncHTTPClient
import Foundation
import S3
import UploadCore

/// The S3 server of the test run (SeaweedFS, started by scripts/test.sh).
///
/// When `UPLOADER_TEST_S3_REQUIRED` or `CI` is set, a missing server is a failure, never a skip.
public enum TestS3 {
  static let environment = ProcessInfo.processInfo.environment

  /// Whether the S3 tests run: a server is configured, or one is required.
  public static var enabled: Bool {
    environment["UPLOADER_TEST_S3_ENDPOINT"] != nil || environment["UPLOADER_TEST_S3_REQUIRED"] != nil
      || environment["CI"] == "true"
  }

  public struct Missing: Error, CustomStringConvertible {
    public var description: String {
      "no test S3 server: UPLOADER_TEST_S3_ENDPOINT is not set (run scripts/test.sh)"
    }
  }

  /// The configuration for a fresh bucket named `bucket` (created by `makeBucket`).
  public static func configuration(bucket: String, secretKey: String? = nil) throws -> S3Configuration {
    guard let endpoint = environment["UPLOADER_TEST_S3_ENDPOINT"],
      let accessKey = environment["UPLOADER_TEST_S3_ACCESS_KEY"],
      let secret = environment["UPLOADER_TEST_S3_SECRET_KEY"]
    else { throw Missing() }
    return S3Configuration(
      endpoint: URL(string: endpoint)!, region: "us-east-1", bucket: bucket,
      credentials: S3Credentials(accessKeyID: accessKey, secretAccessKey: secretKey ?? secret),
      retryPolicy: .init(maximumAttempts: 3, baseDelay: .milliseconds(50), maximumDelay: .milliseconds(200)))
  }

  /// A unique bucket name for one test.
  public static func uniqueBucketName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
  }

  /// Creates a fresh bucket and returns a client for it.
  public static func makeBucket(_ prefix: String, httpClient: HTTPClient) async throws -> S3Client {
    let client = S3Client(
      configuration: try configuration(bucket: uniqueBucketName(prefix)), httpClient: httpClient)
    try await client.createBucket()
    return client
  }
}

extension S3Client {
  /// The SHA-256 of an object's bytes, read back whole (test objects are small).
  public func digest(ofObject key: String) async throws -> ContentHash {
    var bytes: [UInt8] = []
    try await getObject(key: key) { bytes.append(contentsOf: $0.readableBytesView) }
    return ContentHash.of(bytes)
  }
}
