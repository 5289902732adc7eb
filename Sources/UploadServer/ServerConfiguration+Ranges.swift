import UploadCore

extension ServerConfiguration {
  /// Refuses a setting outside the range the server works in, naming the flag that sets it.
  func checkRanges() throws(UploadError) {
    func require(_ condition: Bool, _ message: String) throws(UploadError) {
      if !condition { throw UploadError(.invalidRequest, message) }
    }
    try require(
      (1...PartSizing.maximumObjectSize).contains(sessions.maximumObjectSize),
      "--max-object-size \(ByteSize.format(sessions.maximumObjectSize)) is not a size from 1 byte to 5TiB, such as 100GiB")
    try require(spoolLimit > 0, "--spool-limit must be more than 0, such as 20GiB")
    try require(
      (64 << 10...1 << 30).contains(http2TargetWindowSize),
      "--http2-window \(ByteSize.format(Int64(http2TargetWindowSize))) is not a size from 64KiB to 1GiB, such as 16MiB")
    try require(
      receiveBufferBudget >= Int64(http2TargetWindowSize),
      "--receive-budget \(ByteSize.format(receiveBufferBudget)) is not a size of at least one window (--http2-window \(ByteSize.format(Int64(http2TargetWindowSize)))), such as 4GiB")
    try require(
      sessions.receiveCreditBudget >= sessions.minimumStreamCredit,
      "--stream-credit \(ByteSize.format(sessions.receiveCreditBudget)) is less than \(ByteSize.format(sessions.minimumStreamCredit)); give a size such as 64MiB")
    try require(sessions.maximumForwardedParts >= 0, "--max-forwarded-parts must be 0 or more")
    try require(
      sessions.acknowledgementBytes >= 64 << 10,
      "--ack-bytes \(ByteSize.format(sessions.acknowledgementBytes)) is less than 64KiB; give a size such as 4MiB")
    if let nodeID {
      try require(
        !nodeID.isEmpty && nodeID.utf8.count <= 128 && !nodeID.contains(where: \.isWhitespace),
        "--node-id must be 1 to 128 characters without spaces")
    }
    try require(sessions.nodeLapse >= .seconds(1), "--node-lapse must be at least 1s, such as 15s")
    if let s3 { try require(s3.retryPolicy.maximumAttempts >= 1, "--s3-max-attempts must be at least 1") }
  }
}
