import Crypto
import Foundation
import Synchronization
import UploadCore

/// AWS Signature Version 4 for S3, header-based.
///
/// The signing date is a parameter, so the known-answer tests from AWS's documentation can
/// pin it. See https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
public struct SigV4Signer: Sendable {
  /// The SHA-256 of an empty payload, in hex.
  public static let emptyPayloadHash = ContentHash.empty.hex

  /// The credentials that sign.
  public let credentials: S3Credentials
  /// The region in the credential scope (`us-east-1`, ...).
  public let region: String
  /// The service in the credential scope.
  public let service: String
  /// The last day's signing key: it depends only on the day, so requests share it.
  private let keys = SigningKeys()

  /// Creates a signer.
  public init(credentials: S3Credentials, region: String, service: String = "s3") {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  /// Signs a request and returns the headers to send: the given ones plus `x-amz-date`,
  /// `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and `authorization`.
  ///
  /// - Parameters:
  ///   - method: the HTTP method.
  ///   - encodedPath: the request path, already percent-encoded with `URIEncoding.encodePath`.
  ///   - query: query parameters, not encoded; a parameter without value has an empty value.
  ///   - headers: headers to sign, including `host`.
  ///   - payloadHash: the hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
  ///   - date: the signing time.
  public func sign(
    method: String,
    encodedPath: String,
    query: [(String, String)],
    headers: [(String, String)],
    payloadHash: String,
    date: Date
  ) -> [(String, String)] {
    let (amzDate, day) = Self.timestamps(date)
    var all = headers
    all.append(("x-amz-date", amzDate))
    if !headers.contains(where: { $0.0.lowercased() == "x-amz-content-sha256" }) {
      all.append(("x-amz-content-sha256", payloadHash))
    }
    if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }

    let canonical = Self.canonicalHeaders(all)
    let signedHeaders = canonical.map(\.0).joined(separator: ";")
    let canonicalRequest = [
      method,
      encodedPath.isEmpty ? "/" : encodedPath,
      Self.canonicalQuery(query),
      canonical.map { "\($0.0):\($0.1)\n" }.joined(),
      signedHeaders,
      payloadHash,
    ].joined(separator: "\n")

    let scope = "\(day)/\(region)/\(service)/aws4_request"
    let stringToSign = [
      "AWS4-HMAC-SHA256", amzDate, scope, ContentHash.of(Array(canonicalRequest.utf8)).hex,
    ].joined(separator: "\n")

    let signature = Hex.encode(hmac(signingKey(day: day), stringToSign))
    all.append((
      "authorization",
      "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
        + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
    ))
    return all
  }

  /// `key=value` pairs, encoded, sorted by key then value, joined with `&`.
  static func canonicalQuery(_ query: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = query.map {
      (URIEncoding.encode($0.0), URIEncoding.encode($0.1))
    }
    let sorted = encoded.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
    return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
  }

  /// Lowercased names, trimmed values with inner runs of spaces collapsed, sorted by name;
  /// repeated names are joined with commas.
  private static func canonicalHeaders(_ headers: [(String, String)]) -> [(String, String)] {
    var merged: [String: [String]] = [:]
    for (name, value) in headers {
      let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      merged[name.lowercased(), default: []].append(trimmed)
    }
    return merged.map { ($0.key, $0.value.joined(separator: ",")) }.sorted { $0.0 < $1.0 }
  }

  private func signingKey(day: String) -> SymmetricKey {
    keys.key(for: day) {
      var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
      for part in [day, region, service, "aws4_request"] {
        key = SymmetricKey(data: hmac(key, part))
      }
      return key
    }
  }

  private func hmac(_ key: SymmetricKey, _ message: String) -> [UInt8] {
    Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
  }

  /// `20130524T000000Z` and `20130524`, in UTC (`CivilTime`: no Calendar per request).
  static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
    let t = CivilTime(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)))
    let pad = CivilTime.padded
    let day = pad(t.year, 4) + pad(t.month, 2) + pad(t.day, 2)
    return (day + "T" + pad(t.hour, 2) + pad(t.minute, 2) + pad(t.second, 2) + "Z", day)
  }
}

/// The signing key of the last day it was asked for.
private final class SigningKeys: Sendable {
  private let last = Mutex<(day: String, key: SymmetricKey)?>(nil)

  func key(for day: String, derive: () -> SymmetricKey) -> SymmetricKey {
    if let last = last.withLock({ $0 }), last.day == day { return last.key }
    let key = derive()
    last.withLock { $0 = (day, key) }
    return key
  }
}
