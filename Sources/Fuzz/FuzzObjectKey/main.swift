// libFuzzer target: the object key validator and key placement. Built by scripts/fuzz.sh with
// `-sanitize=fuzzer,address -parse-as-library -DFUZZING`; a plain build makes an executable that does nothing.
import FuzzSupport
import UploadCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzObjectKey(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
  guard let key = try? ObjectKey(validating: text) else { return 0 }
  // Whatever passes must be safe as a path below the store's root and as an S3 key.
  precondition(!key.rawValue.isEmpty && key.rawValue.utf8.count <= ObjectKey.maxUTF8Length)
  // Checked on bytes, as the file system and S3 see them (not on Swift Characters).
  let segments = Array(key.rawValue.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
  precondition(segments.allSatisfy { !$0.isEmpty && Array($0) != [46] && Array($0) != [46, 46] })
  precondition(!key.rawValue.utf8.contains(0))
  let placed = try? KeyPlacement(prefixPerPrincipal: true).key(text, for: Principal(unchecked: "tenant"))
  precondition(placed == nil || placed!.rawValue.utf8.starts(with: "tenant/".utf8))
  return 0
}

#if FUZZING
  @_cdecl("FuzzObjectKey_main")
  func fuzzMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { fuzzObjectKey($0, $1) }
  }
#endif
