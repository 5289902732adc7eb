/// How many files of a batch to send at once (`uploader upload DIR`, `uploader resume BATCH`).
///
/// A small file costs a few round trips and little else, so a batch of small files is bound by
/// latency: only many files in flight hide it. A large file fills the link by itself with its
/// parallel part streams, so a few at once are enough, and more only add connections and
/// memory. The automatic count keeps about `bytesInFlight` of typical files going: 64 at once
/// for files of `smallFile` and less (they go whole, several to a call: more of them fill the
/// calls, on loopback and on a long link alike), 32 up to 2 MiB, down to 4 for files of 16 MiB
/// and more.
public enum TransferCount {
  /// The counts a user may ask for.
  public static let allowed = 1...64

  /// The file bytes the automatic count aims to keep in flight.
  public static let bytesInFlight: Int64 = 64 << 20

  /// The automatic count's bounds: as many as before for large files; at most 32 for files
  /// larger than `smallFile`.
  public static let automaticRange = 4...32

  /// Files this size and smaller run up to `allowed`'s most at once: 64 of them hold 16 MiB.
  public static let smallFile: Int64 = 256 << 10

  /// The count for a batch of files of `fileSizes` bytes: `bytesInFlight` divided by the
  /// median size, within `automaticRange`; the median, so that a few large files among many
  /// small ones (a photo folder with a video) do not slow the rest.
  public static func automatic(fileSizes: [Int64]) -> Int {
    guard !fileSizes.isEmpty else { return automaticRange.lowerBound }
    let median = max(1, fileSizes.sorted()[fileSizes.count / 2])
    let most = median <= smallFile ? allowed.upperBound : automaticRange.upperBound
    let count = bytesInFlight / median
    return Int(min(Int64(most), max(Int64(automaticRange.lowerBound), count)))
  }
}
