// libFuzzer target: the S3 XML response parser and the error-document reader, on arbitrary bytes
// as a hostile or broken S3 endpoint could send them. Built by scripts/fuzz.sh.
import FuzzSupport
import Foundation
import NIOCore
import S3

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzS3XML(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let bytes = Data(bytes: data, count: count)
  if let document = XMLNode.parse(bytes) {
    // Walk it the way the client reads ListParts and ListMultipartUploads.
    for part in document.children("Part") {
      _ = part.text("PartNumber").flatMap(Int.init)
      _ = part.text("ETag")
      _ = part.text("Size").flatMap(Int64.init)
    }
    _ = document.text("IsTruncated")
    _ = document.child("Upload")?.text("UploadId")
  }
  let error = S3Error.decode(operation: "Fuzz", status: 500, headers: [:], body: ByteBuffer(bytes: bytes))
  precondition(error.httpStatus == 500)
  return 0
}

#if FUZZING
  @_cdecl("FuzzS3XML_main")
  func fuzzMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { fuzzS3XML($0, $1) }
  }
#endif
