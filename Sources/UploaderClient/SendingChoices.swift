import Foundation

/// How an upload was asked to be sent, as the user typed it: kept in the journal so that
/// `uploader resume` sends it the same way unless told otherwise. A nil field was not given.
public struct SendingChoices: Codable, Hashable, Sendable {
  /// `--parallel`.
  public var parallel: Int?
  /// `--connections`.
  public var connections: Int?
  /// `--max-connections`.
  public var maxConnections: Int?
  /// `--limit-rate`, as typed (such as `20MiB`).
  public var limitRate: String?
  /// `--congestion-control`.
  public var congestionControl: String?

  /// Choices; nil fields were not given.
  public init(
    parallel: Int? = nil, connections: Int? = nil, maxConnections: Int? = nil, limitRate: String? = nil,
    congestionControl: String? = nil
  ) {
    self.parallel = parallel
    self.connections = connections
    self.maxConnections = maxConnections
    self.limitRate = limitRate
    self.congestionControl = congestionControl
  }

  /// These choices, each replaced by `other`'s where `other` gives one.
  public func overridden(by other: SendingChoices) -> SendingChoices {
    SendingChoices(
      parallel: other.parallel ?? parallel, connections: other.connections ?? connections,
      maxConnections: other.maxConnections ?? maxConnections, limitRate: other.limitRate ?? limitRate,
      congestionControl: other.congestionControl ?? congestionControl)
  }

  /// The journal's text for them: JSON, `{}` when nothing was given.
  var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }

  /// Choices read back from the journal; none from text that is not theirs.
  init(json: String) {
    self = (try? JSONDecoder().decode(Self.self, from: Data(json.utf8))) ?? SendingChoices()
  }
}
