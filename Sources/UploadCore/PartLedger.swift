/// The bookkeeping of one part while it is received: where the next byte goes, what is
/// durable, and whether the bytes match the client's digest. Pure; the server performs the I/O
/// it asks for.
public struct PartLedger: Hashable, Sendable {
  /// Where the bytes of a chunk go.
  public enum Placement: Hashable, Sendable {
    /// Write `chunk[skip...]` at offset `at` (the first `skip` bytes were already received).
    case append(skip: Int, at: Int64)
    /// Every byte of the chunk was already received.
    case duplicate
  }

  /// The part number, from 1.
  public let number: Int
  /// The part's size (the final part of a stream of unknown length shrinks to where it ends).
  public private(set) var size: Int64
  /// The part's state.
  public private(set) var state: PartState
  /// Bytes written to the spool, from the start of the part.
  public private(set) var receivedBytes: Int64
  /// Bytes known to be on stable storage and recorded.
  public private(set) var durableBytes: Int64
  /// The digest the client declared for the part.
  public private(set) var expectedSHA256: ContentHash?
  /// Whether a full part without a declared digest is received as its bytes hash (the original
  /// contract, whose client declares none; the whole stream is its unit of retry).
  public let acceptsUndeclaredDigest: Bool

  /// A ledger resuming from `durableBytes` (0 for a new part).
  public init(number: Int, size: Int64, state: PartState = .receiving, durableBytes: Int64 = 0,
    expectedSHA256: ContentHash? = nil, acceptsUndeclaredDigest: Bool = false)
  {
    self.acceptsUndeclaredDigest = acceptsUndeclaredDigest
    self.number = number
    self.size = size
    self.state = state
    self.receivedBytes = state == .receiving ? durableBytes : size
    self.durableBytes = state == .receiving ? durableBytes : size
    self.expectedSHA256 = expectedSHA256
  }

  /// Records the client's digest for the part; the latest declaration wins.
  public mutating func declare(_ digest: ContentHash) {
    expectedSHA256 = digest
  }

  /// Places a chunk of `length` bytes at `offset` within the part.
  ///
  /// - Throws: `.invalidRequest` when the chunk does not lie within the part (no retry can fix
  ///   that); `.offsetGap` (with the expected offset) when it starts past the received bytes.
  public func place(offset: Int64, length: Int) throws(UploadError) -> Placement {
    let sum = offset.addingReportingOverflow(Int64(length))
    guard offset >= 0, !sum.overflow, sum.partialValue <= size else {
      throw UploadError(
        .invalidRequest, "part \(number) is \(size) bytes; a chunk at offset \(offset) of \(length) bytes runs past it")
    }
    guard offset <= receivedBytes || state != .receiving else {
      throw UploadError(
        .offsetGap,
        "part \(number): a chunk at offset \(offset) leaves a gap; send from offset \(receivedBytes)",
        expectedOffset: receivedBytes)
    }
    let end = sum.partialValue
    guard state == .receiving, end > receivedBytes else { return .duplicate }
    return .append(skip: Int(receivedBytes - offset), at: receivedBytes)
  }

  /// Records `count` bytes written at the received offset.
  public mutating func wrote(_ count: Int) {
    precondition(state == .receiving && receivedBytes + Int64(count) <= size)
    receivedBytes += Int64(count)
  }

  /// Ends the part after the bytes received so far: the client marked the final chunk of a
  /// stream of unknown length.
  public mutating func end() {
    guard state == .receiving else { return }
    size = receivedBytes
  }

  /// Whether every byte has arrived.
  public var isFull: Bool { receivedBytes == size }

  /// Bytes written but not yet durable.
  public var pendingBytes: Int64 { receivedBytes - durableBytes }

  /// Records that everything written is durable.
  public mutating func madeDurable() {
    durableBytes = receivedBytes
  }

  /// What checking the full part's bytes against the declared digest concluded.
  public enum Verdict: Hashable, Sendable {
    /// The bytes match: the part is received.
    case matches
    /// The client has not declared the part's digest yet.
    case awaitingDigest
    /// The bytes differ; the ledger is reset to receive the part again.
    case mismatch(expected: ContentHash)
  }

  /// Checks a full part whose bytes hash to `actual`; on a mismatch the part is reset to 0.
  public mutating func verify(actual: ContentHash) -> Verdict {
    precondition(isFull && state == .receiving)
    guard let expected = expectedSHA256 else {
      guard acceptsUndeclaredDigest else { return .awaitingDigest }
      state = .received
      durableBytes = size
      return .matches
    }
    guard expected == actual else {
      reset()
      return .mismatch(expected: expected)
    }
    state = .received
    durableBytes = size
    return .matches
  }

  /// Forgets every received byte (corruption, lost spool).
  public mutating func reset() {
    state = .receiving
    receivedBytes = 0
    durableBytes = 0
    expectedSHA256 = nil
  }

  /// Records that the object store has the part.
  public mutating func committed() {
    precondition(state == .received || state == .committed)
    state = .committed
  }
}
