import UploadCore

extension SessionCoordinator {
  /// Fails when the session database cannot be read.
  func checkDatabase() async throws(UploadError) {
    try await store.ping()
  }

  /// The number of sessions in each state.
  func countsByState() async throws(UploadError) -> [SessionState: Int] {
    try await store.countsByState()
  }

  /// Closes every spool file (the server is stopping). Durable bytes stay durable; the rest was
  /// never acknowledged.
  func shutdown() async {
    await writers.closeAll()
  }
}
