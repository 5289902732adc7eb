/// How to send an upload, and what its object carries.
public struct UploadOptions: Sendable {
  /// Part size in bytes; 0 lets the plan choose (8 MiB, larger past 80 GiB).
  public var partSize: Int64
  /// Parts sent at the same time, each on its own connection, to start with.
  public var parallel: Int
  /// The most connections to grow to while more bring more throughput (a lossy path); nil (or
  /// `parallel`) keeps `parallel`.
  public var maximumConnections: Int?
  /// At most this many bytes per second; nil for no limit.
  public var bytesPerSecond: Int64?
  /// The object's content type; nil guesses it from the file's extension.
  public var contentType: String?
  /// Stored with the object (`x-amz-meta-<name>` in S3).
  public var metadata: [String: String]
  /// Have the server read the object back and check it against the file's SHA-256 before the
  /// upload counts as done; the object is then stamped with it.
  public var verify: Bool

  /// Options; the defaults are the CLI's.
  public init(
    partSize: Int64 = 0, parallel: Int = 4, maximumConnections: Int? = 64, bytesPerSecond: Int64? = nil, contentType: String? = nil,
    metadata: [String: String] = [:], verify: Bool = false
  ) {
    self.partSize = partSize
    self.parallel = max(1, parallel)
    self.maximumConnections = maximumConnections
    self.bytesPerSecond = bytesPerSecond
    self.contentType = contentType
    self.metadata = metadata
    self.verify = verify
  }
}
