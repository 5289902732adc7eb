import Foundation
import Logging

/// One JSON object per line on stderr: `time`, `level`, `label`, `message`, then the metadata.
public struct JSONLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let label: String

  /// A handler for `label` at `level`.
  public init(label: String, level: Logger.Level) {
    self.label = label
    self.logLevel = level
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var fields: [String: String] = [
      "time": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue, "label": label,
      "message": event.message.description,
    ]
    for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) where fields[key] == nil {
      fields[key] = value.description
    }
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return }
    FileHandle.standardError.write(data + Data("\n".utf8))
  }
}
