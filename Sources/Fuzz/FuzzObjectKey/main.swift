// libFuzzer target: the object key validator and key placement. Built by scripts/fuzz.sh with
// `-sanitize=fuzzer,address -parse-as-library`; a plain build makes an executable that does nothing.
import UploadCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzObjectKey(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
  guard let key = try? ObjectKey(validating: text) else { return 0 }
  // Whatever passes must be safe as a path below the store's root and as an S3 key.
  precondition(!key.rawValue.isEmpty && key.rawValue.utf8.count <= ObjectKey.maxUTF8Length)
  precondition(!key.rawValue.hasPrefix("/"))
  precondition(key.segments.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." })
  precondition(!key.rawValue.utf8.contains(0))
  let placed = try? KeyPlacement(prefixPerPrincipal: true).key(text, for: Principal(unchecked: "tenant"))
  precondition(placed == nil || placed!.rawValue.hasPrefix("tenant/"))
  return 0
}
