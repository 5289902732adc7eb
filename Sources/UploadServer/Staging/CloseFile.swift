import NIOFileSystem

/// Closes a file even when the calling task is cancelled (the usual case at shutdown or when a
/// client goes away). NIO's `close()` refuses to run in a cancelled task, and a handle dropped
/// unclosed is a fatal error.
func closeFile(_ handle: some FileHandleProtocol & Sendable) async {
  await Task { try? await handle.close() }.value
}
