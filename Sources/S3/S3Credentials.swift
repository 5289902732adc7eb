/// AWS credentials for SigV4 signing.
public struct S3Credentials: Hashable, Sendable {
  /// The access key id (`AWS_ACCESS_KEY_ID`).
  public var accessKeyID: String
  /// The secret key (`AWS_SECRET_ACCESS_KEY`).
  public var secretAccessKey: String
  /// A temporary session token (`AWS_SESSION_TOKEN`), sent as `x-amz-security-token`.
  public var sessionToken: String?

  /// Creates credentials.
  public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyID = accessKeyID
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }
}
