extension ThrowingDiscardingTaskGroup where Failure == any Error {
  /// Adds `operation` once `permits` has a place for it, so that at most that many of the
  /// group's tasks run at once: the one way this code base runs "at most N of these".
  ///
  /// Waiting holds back the caller (and so whatever feeds it). A task that throws cancels the
  /// group: nothing more is added and this returns false, so the caller stops and lets the
  /// group rethrow that task's error (an error the caller threw instead would replace it).
  ///
  /// - Returns: whether `operation` was added.
  /// - Throws: `CancellationError` when the caller itself is cancelled while it waits.
  public mutating func addTask(
    holding permits: AsyncSemaphore, _ operation: @escaping @Sendable () async throws -> Void
  ) async throws(CancellationError) -> Bool {
    try await permits.acquire()
    let added = addTaskUnlessCancelled {
      defer { permits.release() }
      try await operation()
    }
    if !added { permits.release() }
    return added
  }
}
