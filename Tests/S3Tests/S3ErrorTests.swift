import NIOCore
import NIOHTTP1
import Testing

@testable import S3

@Suite struct S3ErrorTests {
  @Test func readsS3ErrorDocuments() {
    let xml = """
      <?xml version="1.0" encoding="UTF-8"?>
      <Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message>\
      <RequestId>4442587FB7D0A2F9</RequestId></Error>
      """
    let error = S3Error.decode(
      operation: "UploadPart", status: 404, headers: [:], body: ByteBuffer(string: xml))
    #expect(error.code == .noSuchUpload)
    #expect(error.message == "The specified upload does not exist.")
    #expect(error.requestID == "4442587FB7D0A2F9")
    #expect(!error.isRetryable)
    #expect(error.description.contains("UploadPart"))
  }

  @Test func fallsBackToTheStatusWithoutADocument() {
    let headers: HTTPHeaders = ["x-amz-request-id": "R1"]
    let forbidden = S3Error.decode(operation: "HeadBucket", status: 403, headers: headers, body: nil)
    #expect(forbidden.code == .accessDenied && forbidden.isAccessProblem && forbidden.requestID == "R1")
    #expect(S3Error.decode(operation: "HeadBucket", status: 503, headers: [:], body: nil).isRetryable)
  }

  @Test func retriesOnlyWhatMaySucceedLater() {
    func error(_ code: S3Error.Code, _ status: Int?) -> S3Error {
      S3Error(code: code, httpStatus: status, message: "", operation: "Test")
    }
    #expect(error(.slowDown, 503).isRetryable)
    #expect(error(.internalError, 500).isRetryable)
    #expect(error(.connectionFailed, nil).isRetryable)
    #expect(!error(.badDigest, 400).isRetryable)
    #expect(!error(.accessDenied, 403).isRetryable)
    #expect(!error(.noSuchBucket, 404).isRetryable)
  }
}
