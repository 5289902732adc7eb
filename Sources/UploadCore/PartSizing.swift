/// How an object is cut into multipart-upload parts.
///
/// S3 allows at most 10,000 parts, each at least 5 MiB except the last, and at most 5 GiB.
/// Parts of one upload may differ in size, which lets a stream of unknown length start with
/// small parts and grow them as it goes.
public struct PartSizing: Hashable, Sendable {
  /// S3's smallest part, except for the last one.
  public static let minimumPartSize: Int64 = 5 << 20
  /// S3's largest part.
  public static let maximumPartSize: Int64 = 5 << 30
  /// S3's largest part count.
  public static let maximumPartCount = 10_000
  /// S3's largest object.
  public static let maximumObjectSize: Int64 = 5 << 40

  /// The size of the first parts.
  public let basePartSize: Int64
  /// How many parts share a size before the size doubles.
  public let partsPerTier: Int

  /// A schedule starting at `basePartSize` and doubling every `partsPerTier` parts.
  ///
  /// With the defaults (8 MiB, 1,000 parts per tier) the first 8 GiB go in 8 MiB parts, and
  /// 10,000 parts hold about 8 TiB, more than S3's 5 TiB object limit.
  public init(basePartSize: Int64 = 8 << 20, partsPerTier: Int = 1_000) {
    precondition(basePartSize >= Self.minimumPartSize && basePartSize <= Self.maximumPartSize)
    precondition(partsPerTier > 0)
    self.basePartSize = basePartSize
    self.partsPerTier = partsPerTier
  }

  /// The size of part `number` (numbered from 1) of a stream whose length is not known upfront.
  public func partSize(forPart number: Int) -> Int64 {
    precondition(number >= 1)
    let tier = (number - 1) / partsPerTier
    guard tier < 40 else { return Self.maximumPartSize }
    let size = basePartSize << Int64(tier)
    return min(size, Self.maximumPartSize)
  }

  /// The largest object this schedule can hold within S3's part count.
  public var capacity: Int64 {
    var total: Int64 = 0
    var number = 1
    while number <= Self.maximumPartCount {
      let count = min(partsPerTier, Self.maximumPartCount - number + 1)
      let (product, overflow) = partSize(forPart: number).multipliedReportingOverflow(by: Int64(count))
      if overflow { return .max }
      total += product
      number += count
    }
    return total
  }
}
