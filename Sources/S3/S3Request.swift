import NIOHTTP1

/// One S3 request before signing.
struct S3Request: Sendable {
  var operation: String
  var method: HTTPMethod
  /// The object key, or nil for a bucket-level request.
  var key: String?
  var query: [(String, String)] = []
  var headers: [(String, String)] = []
  var body: S3Body = .empty
  /// Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
  var payloadHash: String = SigV4Signer.emptyPayloadHash
  /// Retried per the retry policy; false tries once.
  var retries = true
}
