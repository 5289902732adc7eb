/// How a session of known size is cut into parts: every part is `partSize` bytes except the
/// last, which holds the rest. An empty object has no parts.
public struct PartPlan: Hashable, Sendable {
  /// The object's size.
  public let size: Int64
  /// The size of every part but the last.
  public let partSize: Int64

  /// The default part size when the client does not choose one.
  public static let defaultPartSize: Int64 = 8 << 20

  /// A plan for `size` bytes in parts of `partSize`, unchecked.
  public init(size: Int64, partSize: Int64) {
    precondition(size >= 0 && partSize > 0)
    self.size = size
    self.partSize = partSize
  }

  /// Validates the client's choice, or chooses: the default part size, doubled until the object
  /// fits in 10,000 parts.
  ///
  /// - Parameters:
  ///   - requestedPartSize: 0 lets the server choose.
  ///   - maximumObjectSize: the server's limit.
  /// - Throws: `UploadError` `.objectTooLarge` or `.invalidRequest`, saying which limit.
  public static func make(size: Int64, requestedPartSize: Int64, maximumObjectSize: Int64)
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
      while (size + partSize - 1) / partSize > Int64(PartSizing.maximumPartCount) {
        partSize *= 2
      }
    }
    guard partSize >= PartSizing.minimumPartSize else {
      throw UploadError(.invalidRequest, "the part size \(partSize) is below the 5 MiB minimum")
    }
    guard partSize <= PartSizing.maximumPartSize else {
      throw UploadError(.invalidRequest, "the part size \(partSize) is above the 5 GiB maximum")
    }
    let plan = PartPlan(size: size, partSize: partSize)
    guard plan.partCount <= PartSizing.maximumPartCount else {
      throw UploadError(
        .invalidRequest,
        "\(size) bytes in parts of \(partSize) make \(plan.partCount) parts; the limit is 10,000: use larger parts")
    }
    return plan
  }

  /// The number of parts.
  public var partCount: Int { Int((size + partSize - 1) / partSize) }

  /// The size of part `number` (from 1).
  public func size(ofPart number: Int) -> Int64 {
    precondition(number >= 1 && number <= partCount)
    return number == partCount ? size - partSize * Int64(number - 1) : partSize
  }

  /// Whether `number` names a part of this plan.
  public func contains(part number: Int) -> Bool { number >= 1 && number <= partCount }
}
