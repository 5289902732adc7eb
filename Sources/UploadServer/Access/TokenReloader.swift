import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the tokens file on SIGHUP, so tokens can be added and revoked without a restart.
/// A file that does not parse is reported and the tokens loaded before stay in force.
public struct TokenReloader: Service {
  let access: AccessControl
  let logger: Logger

  /// A reloader for `access`.
  public init(access: AccessControl, logger: Logger) {
    self.access = access
    self.logger = logger
  }

  public func run() async throws {
    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
      guard access.isEnabled else {
        logger.notice("SIGHUP: no --auth-tokens file to reload")
        continue
      }
      do {
        try await access.reload()
        logger.notice("SIGHUP: tokens reloaded", metadata: ["tokens": "\(access.count)"])
      } catch {
        logger.error("SIGHUP: tokens not reloaded; the previous ones stay in force", metadata: ["error": "\(error)"])
      }
    }
  }
}
