import Foundation
import UploadCore

/// The JSON body of a notification: what happened to which session, with the object's facts.
///
/// ```json
/// {"etag": "\"…-3\"", "id": "<session id>.completed", "key": "videos/a.mp4",
///  "location": "s3://bucket/videos/a.mp4", "occurred_at": "2026-11-27T14:03:11.250Z",
///  "owner": "alice", "session_id": "<session id>", "sha256": "<hex>", "size": 20971520,
///  "type": "session.completed", "verified": true}
/// ```
///
/// `sha256`, `etag` and `location` are null unless the session completed; `size` is null for a
/// session of unknown size that never learned it. Keys are sorted, so one event's bodies are
/// the same bytes unless the session changed between deliveries (a verify stamps a new ETag).
enum NotificationEvent {
  static func body(_ notification: QueuedNotification, session: SessionRecord) -> [UInt8] {
    let completed = notification.type == .completed
    let fields: [String: Any] = [
      "id": notification.id,
      "type": "session.\(notification.type.rawValue)",
      "occurred_at": timestamp(notification.occurredAt),
      "session_id": session.id.rawValue,
      "owner": session.owner,
      "key": session.key.rawValue,
      "size": session.plan.size.map { NSNumber(value: $0) } ?? NSNull(),
      "sha256": completed ? (session.sha256?.hex as Any? ?? NSNull()) : NSNull(),
      "etag": completed ? (session.etag as Any? ?? NSNull()) : NSNull(),
      "location": completed ? (session.location as Any? ?? NSNull()) : NSNull(),
      "verified": completed && session.objectAttributes.sha256 != nil,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return Array(data)
  }

  /// RFC 3339 in UTC with milliseconds.
  static func timestamp(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
  }
}
