import Foundation

/// The bytes of a stream of unknown length from the last one the server acknowledged as durable
/// to the last one read: everything a reconnect may have to send again, since standard input
/// cannot be read twice. Pure bookkeeping; the engine bounds its size.
public struct UnacknowledgedTail: Sendable {
  /// Where the held bytes start in the object: everything before is durable on the server.
  public private(set) var start: Int64 = 0
  /// The reads held, in order, each with its offset in the object.
  private var segments: [(offset: Int64, data: Data)] = []
  /// Whether the input has ended.
  public private(set) var inputEnded = false

  /// An empty tail at the start of the input.
  public init() {}

  /// Where the bytes read so far end in the object.
  public var end: Int64 { segments.last.map { $0.offset + Int64($0.data.count) } ?? start }

  /// The number of bytes held.
  public var count: Int64 { end - start }

  /// Adds bytes read from the input; empty data means the input ended.
  public mutating func append(_ data: Data) {
    precondition(!inputEnded, "read past the end of the input")
    if data.isEmpty {
      inputEnded = true
    } else {
      segments.append((end, data))
    }
  }

  /// Drops the bytes before `offset`, which the server holds durably. An offset before `start`
  /// changes nothing (an older acknowledgement).
  ///
  /// - Throws: `ClientError` when `offset` lies past the bytes read: the server claims bytes
  ///   this run never sent.
  public mutating func acknowledge(upTo offset: Int64) throws {
    guard offset <= end else {
      throw ClientError("the server acknowledged \(offset) bytes of a stream that has \(end); start a new upload")
    }
    guard offset > start else { return }
    start = offset
    while let first = segments.first, first.offset + Int64(first.data.count) <= offset {
      segments.removeFirst()
    }
    if let first = segments.first, first.offset < offset {
      segments[0] = (offset, first.data.dropFirst(Int(offset - first.offset)))
    }
  }

  /// Up to `count` held bytes from `offset` (at least `start`).
  public func bytes(from offset: Int64, count: Int) -> Data {
    precondition(offset >= start && offset <= end)
    var result = Data()
    var position = offset
    let stop = min(end, offset + Int64(count))
    for segment in segments where segment.offset + Int64(segment.data.count) > position && position < stop {
      let from = segment.data.startIndex + Int(position - segment.offset)
      let to = segment.data.startIndex + Int(min(stop, segment.offset + Int64(segment.data.count)) - segment.offset)
      if result.isEmpty && position == offset && to - from == Int(stop - offset) {
        // One segment holds it all: share its storage.
        return segment.data[from..<to]
      }
      result.append(segment.data[from..<to])
      position += Int64(to - from)
    }
    return result
  }
}
