import Foundation
import NIOPosix

/// A stream of bytes read once, front to back: standard input, a pipe.
public protocol ByteSource: Sendable {
  /// The next bytes, at most `count`; empty at the end. Not cancellable: bytes read are
  /// always returned, so none is lost to a cancelled reader.
  func read(upTo count: Int) async throws -> Data
}

/// Standard input, read on NIO's blocking-I/O thread pool so the cooperative pool never
/// blocks on a pipe that waits for its writer.
public struct StandardInput: ByteSource {
  /// The process's standard input.
  public init() {}

  /// Up to `count` bytes; empty at the end of the input.
  public func read(upTo count: Int) async throws -> Data {
    // A task of its own: the caller's cancellation must not drop bytes already taken from the pipe.
    try await Task {
      try await NIOThreadPool.singleton.runIfActive {
        try FileHandle.standardInput.read(upToCount: count) ?? Data()
      }
    }.value
  }
}

extension ByteSource {
  /// Reads until `count` bytes or the end: fewer than `count` only at the end.
  public func read(filling count: Int) async throws -> Data {
    var data = try await read(upTo: count)
    while data.count < count {
      let more = try await read(upTo: count - data.count)
      if more.isEmpty { break }
      data.append(more)
    }
    return data
  }
}
