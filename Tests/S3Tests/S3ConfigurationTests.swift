import Foundation
import Testing

@testable import S3

@Suite struct S3ConfigurationTests {
  private let keys = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"]

  private func configuration(_ extra: [String: String], endpoint: String? = nil, region: String? = nil)
    throws(S3ConfigurationError)
    -> S3Configuration
  {
    try S3Configuration.fromEnvironment(
      keys.merging(extra) { $1 }, bucket: "photos", endpoint: endpoint, region: region)
  }

  @Test func awsIsAddressedVirtualHostedOverHTTPSInItsRegion() throws {
    let aws = try configuration(["AWS_REGION": "eu-west-1"])
    #expect(aws.endpoint == nil)
    let addressing = aws.addressing
    #expect(addressing.base == "https://photos.s3.eu-west-1.amazonaws.com")
    #expect(addressing.host == "photos.s3.eu-west-1.amazonaws.com")
    #expect(addressing.pathPrefix == "")
  }

  @Test func aCustomEndpointIsAddressedPathStyleWithItsSchemePortAndPath() throws {
    let local = try configuration(["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8333"]).addressing
    #expect(local.base == "http://127.0.0.1:8333" && local.host == "127.0.0.1:8333" && local.pathPrefix == "/photos")
    let https = try configuration([:], endpoint: "https://storage.example.com/s3/").addressing
    #expect(https.base == "https://storage.example.com" && https.host == "storage.example.com")
    #expect(https.pathPrefix == "/s3/photos")
  }

  @Test func explicitSettingsWinOverTheEnvironmentInTheDocumentedOrder() throws {
    #expect(try configuration([:]).region == "us-east-1")
    #expect(try configuration(["AWS_DEFAULT_REGION": "ap-south-1"]).region == "ap-south-1")
    #expect(try configuration(["AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "eu-north-1"]).region == "eu-north-1")
    #expect(try configuration(["AWS_REGION": "eu-north-1"], region: "us-west-2").region == "us-west-2")
    #expect(try configuration(["AWS_REGION": ""]).region == "us-east-1", "an empty variable counts as unset")

    let general = "http://general.example:1"
    let specific = "http://specific.example:2"
    #expect(try configuration(["AWS_ENDPOINT_URL": general]).endpoint?.absoluteString == general)
    #expect(try configuration(["AWS_ENDPOINT_URL": general, "AWS_ENDPOINT_URL_S3": specific]).endpoint?.absoluteString == specific)
    #expect(try configuration(["AWS_ENDPOINT_URL_S3": specific], endpoint: "https://flag.example").endpoint?.host == "flag.example")
  }

  @Test func credentialsSessionTokenAndCABundleComeFromTheEnvironment() throws {
    let read = try configuration(["AWS_SESSION_TOKEN": "token", "AWS_CA_BUNDLE": "/etc/ca.pem"])
    #expect(read.credentials.accessKeyID == "AKID" && read.credentials.sessionToken == "token")
    #expect(read.caBundle == "/etc/ca.pem")
    #expect(try configuration([:]).caBundle == nil)
  }

  @Test func whatCannotWorkIsRefusedWithWhatToSet() {
    #expect(throws: S3ConfigurationError.self) {
      try S3Configuration.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID"], bucket: "photos")
    }
    do {
      _ = try configuration([:], endpoint: "ftp://example.com")
      Issue.record("an ftp endpoint was accepted")
    } catch {
      #expect(error.message.contains("is not an http(s) URL"))
    }
    do {
      _ = try S3Client.makeHTTPClient(caBundle: "/nonexistent/ca.pem")
      Issue.record("a missing CA bundle was accepted")
    } catch {
      #expect(error.message.contains("AWS_CA_BUNDLE /nonexistent/ca.pem"))
    }
  }
}
