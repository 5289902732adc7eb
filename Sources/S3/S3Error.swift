import Foundation
import NIOCore
import NIOHTTP1

/// A failed S3 call: either S3 answered with an error document, or it could not be reached.
public struct S3Error: Error, Hashable, Sendable, CustomStringConvertible {
  /// An S3 error code (`NoSuchUpload`, `BadDigest`, ...) or one of ours for transport failures.
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let noSuchUpload = Code(rawValue: "NoSuchUpload")
    public static let noSuchBucket = Code(rawValue: "NoSuchBucket")
    public static let noSuchKey = Code(rawValue: "NoSuchKey")
    public static let badDigest = Code(rawValue: "BadDigest")
    public static let accessDenied = Code(rawValue: "AccessDenied")
    public static let invalidAccessKeyID = Code(rawValue: "InvalidAccessKeyId")
    public static let signatureDoesNotMatch = Code(rawValue: "SignatureDoesNotMatch")
    public static let slowDown = Code(rawValue: "SlowDown")
    public static let internalError = Code(rawValue: "InternalError")
    public static let invalidPart = Code(rawValue: "InvalidPart")
    public static let entityTooSmall = Code(rawValue: "EntityTooSmall")
    /// The connection failed or timed out before S3 answered (ours, not S3's).
    public static let connectionFailed = Code(rawValue: "ConnectionFailed")
    /// S3 answered something we could not read (ours, not S3's).
    public static let malformedResponse = Code(rawValue: "MalformedResponse")
  }

  /// The error code.
  public let code: Code
  /// The HTTP status, or nil when S3 was not reached.
  public let httpStatus: Int?
  /// S3's message, or a description of the transport failure.
  public let message: String
  /// The S3 operation that failed (`UploadPart`, ...).
  public let operation: String
  /// S3's request id, when it sent one.
  public let requestID: String?

  /// Creates an error.
  public init(
    code: Code, httpStatus: Int?, message: String, operation: String, requestID: String? = nil
  ) {
    self.code = code
    self.httpStatus = httpStatus
    self.message = message
    self.operation = operation
    self.requestID = requestID
  }

  /// Whether trying again may succeed: transport failures, 5xx and SlowDown. Never other 4xx.
  public var isRetryable: Bool {
    if code == .slowDown || code == .connectionFailed { return true }
    guard let httpStatus else { return false }
    return httpStatus >= 500
  }

  /// Whether the error is about credentials or permissions.
  public var isAccessProblem: Bool {
    code == .accessDenied || code == .invalidAccessKeyID || code == .signatureDoesNotMatch
      || httpStatus == 403
  }

  public var description: String {
    let status = httpStatus.map { "HTTP \($0), " } ?? ""
    let request = requestID.map { ", request id \($0)" } ?? ""
    return "S3 \(operation) failed: \(code) (\(status)\(message)\(request))"
  }
}

extension S3Error {
  /// Turns an error response into an `S3Error`, reading S3's XML error document when there is one.
  package static func decode(
    operation: String, status: Int, headers: HTTPHeaders, body: ByteBuffer?
  ) -> S3Error {
    let document = body.flatMap { XMLNode.parse(Data($0.readableBytesView)) }
    let requestID = document?.text("RequestId") ?? headers.first(name: "x-amz-request-id")
    let fallback: S3Error.Code =
      switch status {
      case 403: .accessDenied
      case 404: .init(rawValue: "NotFound")
      case 503: .slowDown
      default: .init(rawValue: "HTTP\(status)")
      }
    return S3Error(
      code: document?.text("Code").map(S3Error.Code.init(rawValue:)) ?? fallback,
      httpStatus: status,
      message: document?.text("Message") ?? "HTTP status \(status)",
      operation: operation,
      requestID: requestID)
  }
}
