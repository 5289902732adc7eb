import NIOCore
import NIOHTTP1

/// A successful response with its body collected.
struct S3Response: Sendable {
  var status: HTTPResponseStatus
  var headers: HTTPHeaders
  var body: ByteBuffer
}
