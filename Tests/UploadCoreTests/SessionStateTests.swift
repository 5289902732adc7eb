import Testing
import UploadCore

@Suite struct SessionStateTests {
  /// Every allowed move; every other pair is refused.
  static let allowed: Set<[SessionState]> = [
    [.open, .completing], [.open, .aborted], [.open, .expired],
    [.completing, .completed], [.completing, .open], [.completing, .aborted], [.completing, .expired],
  ]

  @Test(arguments: SessionState.allCases)
  func transitionsFrom(_ state: SessionState) {
    for next in SessionState.allCases {
      #expect(state.canMove(to: next) == Self.allowed.contains([state, next]), "\(state) -> \(next)")
    }
  }

  @Test func finalStatesGoNowhere() {
    for state in SessionState.allCases where state.isFinal {
      #expect(SessionState.allCases.allSatisfy { !state.canMove(to: $0) })
    }
    #expect(SessionState.allCases.filter(\.acceptsParts) == [.open])
  }
}

@Suite struct SessionIDTests {
  @Test func carries128RandomBits() throws {
    var generator = SplitMix(seed: 1)
    let a = SessionID.random(using: &generator)
    let b = SessionID.random(using: &generator)
    #expect(a.rawValue.count == 32 && a != b)
    var again = SplitMix(seed: 1)
    #expect(SessionID.random(using: &again) == a)
    #expect(try SessionID(validating: a.rawValue) == a)
  }

  @Test(arguments: ["", "xyz", String(repeating: "A", count: 32), String(repeating: "0", count: 33), "../../etc/passwd"])
  func malformedIDsNameNoSession(_ text: String) {
    #expect { try SessionID(validating: text) } throws: { ($0 as? UploadError)?.code == .sessionNotFound }
  }
}

/// A seeded generator, so ids are reproducible in tests.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
