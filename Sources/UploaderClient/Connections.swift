import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import UploadProtocol

/// The connections of one command, opened as streams ask for them and closed when the command
/// ends (`ServerConnection.withConnections`). Each index is one HTTP/2 connection, so one TCP
/// connection with its own congestion window: on a lossy path the number of them, not their
/// streams, decides the throughput.
public final class Connections: Sendable {
  /// Sent with every call (`authorization: Bearer ...`).
  public let metadata: Metadata
  /// The sockets under the connections: their options, and what their TCP acknowledged.
  public let sockets: SocketRegistry

  private struct Slot {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let running: Task<Void, Never>
  }

  private let make: @Sendable (Int) throws -> GRPCClient<HTTP2ClientTransport.Posix>
  private let slots = Mutex<(open: [Int: Slot], closing: [Task<Void, Never>])>(([:], []))

  init(
    metadata: Metadata, sockets: SocketRegistry,
    make: @escaping @Sendable (Int) throws -> GRPCClient<HTTP2ClientTransport.Posix>
  ) {
    self.metadata = metadata
    self.sockets = sockets
    self.make = make
  }

  /// The client of connection `index`, connecting it first if it is not open.
  public func client(_ index: Int) throws -> UploadEngine.Client {
    let client = try slots.withLock { slots in
      if let slot = slots.open[index] { return slot.client }
      // Building a client does no I/O; it connects once it runs.
      let client = try make(index)
      slots.open[index] = Slot(client: client, running: Task { try? await client.runConnections() })
      return client
    }
    return UploadEngine.Client(wrapping: client)
  }

  /// Closes connection `index` once its calls end; `client(index)` opens a new one.
  public func release(_ index: Int) {
    slots.withLock { slots in
      guard let slot = slots.open.removeValue(forKey: index) else { return }
      slot.client.beginGracefulShutdown()
      slots.closing.append(slot.running)
    }
  }

  /// Closes every connection and waits until they are closed.
  func close() async {
    let running = slots.withLock { slots in
      let running = slots.open.values.map(\.running) + slots.closing
      for slot in slots.open.values { slot.client.beginGracefulShutdown() }
      slots.open = [:]
      slots.closing = []
      return running
    }
    for task in running { await task.value }
  }
}
