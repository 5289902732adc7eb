import Foundation
import Testing

@testable import S3

/// Known answers from AWS's examples:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
@Suite struct SigV4SignerTests {
  let signer = SigV4Signer(
    credentials: S3Credentials(
      accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    region: "us-east-1")
  let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
  let host = ("Host", "examplebucket.s3.amazonaws.com")

  private func authorization(_ headers: [(String, String)]) throws -> String {
    try #require(headers.first { $0.0 == "authorization" }).1
  }

  @Test func getObjectWithRange() throws {
    let headers = signer.sign(
      method: "GET", encodedPath: "/test.txt", query: [], headers: [host, ("Range", "bytes=0-9")],
      payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    let auth = try authorization(headers)
    #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"))
    #expect(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"))
    #expect(auth.hasSuffix("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
    #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
  }

  @Test func putObjectWithEncodedKey() throws {
    let headers = signer.sign(
      method: "PUT", encodedPath: "/" + URIEncoding.encodePath("test$file.text"), query: [],
      headers: [
        host, ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
      ],
      payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", date: date)
    #expect(try authorization(headers).hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
  }

  @Test func getBucketLifecycle() throws {
    let headers = signer.sign(
      method: "GET", encodedPath: "/", query: [("lifecycle", "")], headers: [host],
      payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(try authorization(headers).hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
  }

  @Test func listObjectsWithQueryInAnyOrder() throws {
    let headers = signer.sign(
      method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [host],
      payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(try authorization(headers).hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
  }

  @Test func sessionTokenIsSentAndSigned() throws {
    let signer = SigV4Signer(
      credentials: S3Credentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "TOKEN"),
      region: "eu-west-1")
    let headers = signer.sign(
      method: "GET", encodedPath: "/", query: [], headers: [host], payloadHash: SigV4Signer.emptyPayloadHash,
      date: date)
    #expect(headers.contains { $0 == ("x-amz-security-token", "TOKEN") })
    #expect(try authorization(headers).contains("x-amz-date;x-amz-security-token"))
  }

  /// The timestamps are computed without a Calendar; they agree with one, across leap years,
  /// month ends and centuries.
  @Test func timestampsAgreeWithTheGregorianCalendar() {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    var seconds: Int64 = -2_208_988_800  // 1900-01-01
    while seconds < 7_258_118_400 {  // 2200-01-01
      let date = Date(timeIntervalSince1970: TimeInterval(seconds))
      let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
      let expected = String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
      #expect(SigV4Signer.timestamps(date).amzDate == expected)
      #expect(SigV4Signer.timestamps(date).day == String(expected.prefix(8)))
      seconds += 86_400 * 3 + 3_599 * 7 + 13
    }
  }
}
