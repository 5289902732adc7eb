/// How a session's object is cut into parts.
///
/// A session of known size has equal parts of `partSize` and a shorter last one. A session of
/// unknown size (a pipe, the original contract) follows a growing schedule (`PartSizing`) and
/// leaves the size open until the client marks the final part; `fixing(size:)` then closes it.
/// An empty object has no parts.
public struct PartPlan: Hashable, Sendable {
  /// The object's size; nil while a stream of unknown length is open.
  public let size: Int64?
  /// The part sizes.
  public let sizing: PartSizing

  /// The default part size when the client does not choose one.
  public static let defaultPartSize: Int64 = 8 << 20

  /// A plan for `size` bytes in equal parts of `partSize`, unchecked.
  public init(size: Int64, partSize: Int64) {
    precondition(size >= 0 && partSize > 0)
    self.size = size
    self.sizing = .uniform(partSize)
  }

  /// A plan following `sizing`, with the size known or not, unchecked.
  public init(size: Int64?, sizing: PartSizing) {
    precondition(size.map { $0 >= 0 } ?? true)
    self.size = size
    self.sizing = sizing
  }

  /// Validates the client's choice, or chooses: the default part size, doubled until the object
  /// fits in 10,000 parts.
  ///
  /// - Parameters:
  ///   - requestedPartSize: 0 lets the server choose.
  ///   - maximumObjectSize: the server's limit.
  /// - Throws: `UploadError` `.objectTooLarge` or `.invalidRequest`, saying which limit.
  ///
  /// With `spreadOver` streams, the default part size shrinks (to S3's 5 MiB at least) so that
  /// every stream gets two parts: a stream carries one part at a time, and on a lossy path the
  /// upload may grow to many streams.
  public static func make(size: Int64, requestedPartSize: Int64, maximumObjectSize: Int64, spreadOver streams: Int = 1)
    throws(UploadError) -> PartPlan
  {
    guard size >= 0 else { throw UploadError(.invalidRequest, "the size is negative") }
    guard size <= maximumObjectSize else {
      throw UploadError(
        .objectTooLarge, "the object is \(size) bytes; this server accepts at most \(maximumObjectSize)")
    }
    var partSize = requestedPartSize
    if partSize == 0 {
      partSize = defaultPartSize
      if streams > 1 {
        let spread = (size / Int64(2 * streams)) / (1 << 20) * (1 << 20)
        partSize = min(defaultPartSize, max(PartSizing.minimumPartSize, spread))
      }
      while (size + partSize - 1) / partSize > Int64(PartSizing.maximumPartCount) {
        partSize *= 2
      }
    }
    try check(partSize: partSize)
    let plan = PartPlan(size: size, partSize: partSize)
    guard plan.partCount <= PartSizing.maximumPartCount else {
      throw UploadError(
        .invalidRequest,
        "\(size) bytes in parts of \(partSize) make \(plan.partCount) parts; the limit is 10,000: use larger parts")
    }
    return plan
  }

  /// A plan for a stream of unknown length: parts of `requestedPartSize` (0: the default), doubling
  /// every `partsPerTier` parts, so that 10,000 parts reach S3's largest object.
  ///
  /// - Throws: `.invalidRequest` for a part size S3 does not accept.
  public static func open(requestedPartSize: Int64, partsPerTier: Int = PartSizing.streamingPartsPerTier)
    throws(UploadError) -> PartPlan
  {
    let partSize = requestedPartSize == 0 ? defaultPartSize : requestedPartSize
    try check(partSize: partSize)
    return PartPlan(size: nil, sizing: PartSizing(basePartSize: partSize, partsPerTier: partsPerTier))
  }

  private static func check(partSize: Int64) throws(UploadError) {
    guard partSize >= PartSizing.minimumPartSize else {
      throw UploadError(.invalidRequest, "the part size \(partSize) is below the 5 MiB minimum")
    }
    guard partSize <= PartSizing.maximumPartSize else {
      throw UploadError(.invalidRequest, "the part size \(partSize) is above the 5 GiB maximum")
    }
  }

  /// Whether the size is known (from creation, or since the final part arrived).
  public var isSizeKnown: Bool { size != nil }

  /// The size of the first part (of every part but the last, for a session created with its size).
  public var partSize: Int64 { sizing.basePartSize }

  /// The number of parts; while the size is open, the most there may be (10,000).
  public var partCount: Int {
    guard let size else { return PartSizing.maximumPartCount }
    return sizing.partCount(for: size)
  }

  /// The same schedule, ending after `size` bytes.
  public func fixing(size: Int64) -> PartPlan {
    PartPlan(size: size, sizing: sizing)
  }

  /// The size of part `number` (from 1): its place in the schedule, or less for the last part.
  public func size(ofPart number: Int) -> Int64 {
    precondition(contains(part: number))
    let planned = sizing.partSize(forPart: number)
    guard let size else { return planned }
    return min(planned, size - sizing.offset(ofPart: number))
  }

  /// Where part `number` starts in the object.
  public func offset(ofPart number: Int) -> Int64 { sizing.offset(ofPart: number) }

  /// Whether `number` names a part of this plan.
  public func contains(part number: Int) -> Bool { number >= 1 && number <= partCount }
}
