import UploadCore

/// ListSessions page tokens: `<created_at ms>.<session id>` of the previous page's last session.
enum PageToken {
  static func encode(_ cursor: (createdAt: Int64, id: SessionID)) -> String {
    "\(cursor.createdAt).\(cursor.id.rawValue)"
  }

  static func decode(_ token: String) throws(UploadError) -> (createdAt: Int64, id: SessionID)? {
    guard !token.isEmpty else { return nil }
    let fields = token.split(separator: ".", maxSplits: 1)
    guard fields.count == 2, let createdAt = Int64(fields[0]),
      let id = try? SessionID(validating: String(fields[1]))
    else {
      throw UploadError(.invalidRequest, "the page token is malformed; pass next_page_token unchanged")
    }
    return (createdAt, id)
  }
}
