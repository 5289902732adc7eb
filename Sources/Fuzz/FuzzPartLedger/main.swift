// libFuzzer target: the chunk and offset state machine of one part, driven by arbitrary
// sequences of chunks, acknowledgements, digests and verifications. Built by scripts/fuzz.sh.
import FuzzSupport
import UploadCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPartLedger(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  var input = UnsafeBufferPointer(start: data, count: count)[...]
  func next16() -> Int? {
    guard input.count >= 2 else { return nil }
    defer { input = input.dropFirst(2) }
    return Int(input[input.startIndex]) << 8 | Int(input[input.startIndex + 1])
  }
  guard let size = next16() else { return 0 }
  let right = ContentHash.of([UInt8(truncatingIfNeeded: size)])
  let wrong = ContentHash.of([UInt8(truncatingIfNeeded: size), 1])
  var ledger = PartLedger(number: 1, size: Int64(size))

  while let op = input.popFirst() {
    switch op % 5 {
    case 0, 1:
      guard let offset = next16(), let length = next16() else { return 0 }
      let signedOffset = op & 0x80 == 0 ? Int64(offset) : -Int64(offset)
      let before = ledger.receivedBytes
      switch try? ledger.place(offset: signedOffset, length: length) {
      case .append(let skip, let at)?:
        precondition(ledger.state == .receiving && at == before && skip >= 0 && skip <= length)
        precondition(signedOffset + Int64(skip) == at && at + Int64(length - skip) <= ledger.size)
        ledger.wrote(length - skip)
      case .duplicate?:
        precondition(ledger.receivedBytes == before)
      case nil:
        precondition(ledger.receivedBytes == before)
      }
    case 2:
      ledger.madeDurable()
    case 3:
      ledger.declare(op & 0x80 == 0 ? right : wrong)
    default:
      if ledger.isFull, ledger.state == .receiving {
        switch ledger.verify(actual: right) {
        case .matches: precondition(ledger.state == .received && ledger.durableBytes == ledger.size)
        case .awaitingDigest: precondition(ledger.state == .receiving)
        case .mismatch: precondition(ledger.receivedBytes == 0 && ledger.state == .receiving)
        }
      }
    }
    precondition(0 <= ledger.durableBytes && ledger.durableBytes <= ledger.receivedBytes)
    precondition(ledger.receivedBytes <= ledger.size)
    precondition(ledger.state == .receiving || ledger.receivedBytes == ledger.size)
  }
  return 0
}

#if FUZZING
  @_cdecl("FuzzPartLedger_main")
  func fuzzMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { fuzzPartLedger($0, $1) }
  }
#endif
