import Foundation
import Synchronization
import UploadCore
import UploaderClient

/// What the connections of one upload did, from the engine's events and the sockets' report:
/// for `--verbose` and the `transport` object of `--json`.
final class TransportTally: Sendable {
  /// The `transport` object of `upload --json` and `resume --json`.
  struct JSON: Encodable, Sendable {
    /// The congestion control read back from the sockets (absent if no connection was made).
    var congestionControl: String?
    /// Why the one asked for was not used; absent when it was.
    var congestionControlFallback: String?
    /// Part streams (one connection each) at the start, at the most, and at the end.
    var connectionsStarted: Int
    var connectionsPeak: Int
    var connectionsFinal: Int
    /// TCP connections tried in all: reconnections, and tries while the link was dark, included.
    var connectionsOpened: Int
    /// Times the server answered again after the link to it was lost.
    var reconnects: Int

    enum CodingKeys: String, CodingKey {
      case reconnects
      case congestionControl = "congestion_control"
      case congestionControlFallback = "congestion_control_fallback"
      case connectionsStarted = "connections_started"
      case connectionsPeak = "connections_peak"
      case connectionsFinal = "connections_final"
      case connectionsOpened = "connections_opened"
    }
  }

  private let state: Mutex<JSON>

  init(starting streams: Int) {
    state = Mutex(JSON(
      connectionsStarted: streams, connectionsPeak: streams, connectionsFinal: streams, connectionsOpened: 0,
      reconnects: 0))
  }

  func record(_ event: UploadEngine.Event) {
    state.withLock { json in
      switch event {
      case .connections(let count, _):
        json.connectionsFinal = count
        json.connectionsPeak = max(json.connectionsPeak, count)
      case .reconnected:
        json.reconnects += 1
      case .progress, .retrying:
        break
      }
    }
  }

  func finish(_ report: SocketRegistry.Report) {
    state.withLock { json in
      json.congestionControl = report.congestionControl
      json.congestionControlFallback = report.fallbackReason
      json.connectionsOpened = report.connectionsOpened
    }
  }

  var json: JSON { state.withLock { $0 } }

  /// One line on stderr, for `--verbose`.
  func describe() {
    let json = self.json
    var line = "transport: congestion control \(json.congestionControl ?? "unknown")"
    if let fallback = json.congestionControlFallback { line += " (\(fallback))" }
    line += "; connections \(json.connectionsStarted) at the start, \(json.connectionsPeak) at the most, \(json.connectionsFinal) at the end"
    line += "; \(json.connectionsOpened) TCP connections opened, \(json.reconnects) reconnections\n"
    FileHandle.standardError.write(Data(line.utf8))
  }
}
