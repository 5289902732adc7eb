/// How an object is cut into multipart-upload parts: a schedule of part sizes.
///
/// S3 allows at most 10,000 parts, each at least 5 MiB except the last, and at most 5 GiB.
/// Parts of one upload may differ in size, which lets a stream of unknown length start with
/// small parts and grow them as it goes: `partsPerTier` parts of `basePartSize`, then as many of
/// twice that, and so on. A schedule with one unbounded tier cuts every part the same size.
public struct PartSizing: Hashable, Sendable {
  /// S3's smallest part, except for the last one.
  public static let minimumPartSize: Int64 = 5 << 20
  /// S3's largest part.
  public static let maximumPartSize: Int64 = 5 << 30
  /// S3's largest part count.
  public static let maximumPartCount = 10_000
  /// S3's largest object.
  public static let maximumObjectSize: Int64 = 5 << 40
  /// The parts per tier of a stream of unknown length: with 8 MiB parts the first 8 GiB go in
  /// 8 MiB parts, and 10,000 parts hold about 8 TiB, more than S3's 5 TiB object limit.
  public static let streamingPartsPerTier = 1_000

  /// The size of the first parts.
  public let basePartSize: Int64
  /// How many parts share a size before the size doubles; `Int.max` for equal parts.
  public let partsPerTier: Int

  /// A schedule starting at `basePartSize` and doubling every `partsPerTier` parts.
  public init(basePartSize: Int64 = 8 << 20, partsPerTier: Int = Self.streamingPartsPerTier) {
    precondition(basePartSize > 0 && basePartSize <= Self.maximumPartSize)
    precondition(partsPerTier > 0)
    self.basePartSize = basePartSize
    self.partsPerTier = partsPerTier
  }

  /// Every part `partSize` bytes.
  public static func uniform(_ partSize: Int64) -> PartSizing {
    PartSizing(basePartSize: partSize, partsPerTier: .max)
  }

  /// Whether every part has the same size.
  public var isUniform: Bool { partsPerTier == .max }

  /// The size of part `number` (numbered from 1) when the object does not end in it.
  public func partSize(forPart number: Int) -> Int64 {
    precondition(number >= 1)
    return tierSize((number - 1) / partsPerTier)
  }

  /// Where part `number` starts in the object: the sizes of the parts before it.
  public func offset(ofPart number: Int) -> Int64 {
    precondition(number >= 1)
    var total: Int64 = 0
    var before = number - 1
    var tier = 0
    while before > 0 {
      let count = min(before, partsPerTier)
      total += Int64(count) * tierSize(tier)
      before -= count
      tier += 1
    }
    return total
  }

  /// The part holding the byte at `offset`.
  public func part(containing offset: Int64) -> Int {
    precondition(offset >= 0)
    var before: Int64 = 0
    var number = 1
    var tier = 0
    while true {
      let partSize = tierSize(tier)
      let (tierBytes, overflow) = partSize.multipliedReportingOverflow(by: Int64(partsPerTier))
      if overflow || offset < before + tierBytes {
        return number + Int((offset - before) / partSize)
      }
      before += tierBytes
      number += partsPerTier
      tier += 1
    }
  }

  /// The number of parts an object of `size` bytes fills (0 for an empty object).
  public func partCount(for size: Int64) -> Int {
    precondition(size >= 0)
    var remaining = size
    var count = 0
    var tier = 0
    while remaining > 0 {
      let partSize = tierSize(tier)
      let (tierBytes, overflow) = partSize.multipliedReportingOverflow(by: Int64(partsPerTier))
      if overflow || remaining <= tierBytes {
        return count + Int((remaining + partSize - 1) / partSize)
      }
      remaining -= tierBytes
      count += partsPerTier
      tier += 1
    }
    return count
  }

  /// The largest object this schedule can hold within S3's part count.
  public var capacity: Int64 {
    let count = PartSizing.maximumPartCount
    let (end, overflow) = offset(ofPart: count).addingReportingOverflow(partSize(forPart: count))
    return overflow ? .max : end
  }

  private func tierSize(_ tier: Int) -> Int64 {
    guard tier < 40, basePartSize <= Self.maximumPartSize >> Int64(tier) else { return Self.maximumPartSize }
    return basePartSize << Int64(tier)
  }
}
