import UploadProtocol

extension Uploader_V1_Session {
  /// Bytes the server holds durably: whole parts once received, else their acknowledged offset.
  public var durableBytes: Int64 {
    parts.reduce(0) { total, part in
      total + Int64(part.state == .received || part.state == .committed ? part.size : part.receivedBytes)
    }
  }
}
