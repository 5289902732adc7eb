import Logging
import NIOFileSystem
import Synchronization
import UploadCore

/// The accepted tokens, loaded from the `--auth-tokens` file and re-read on SIGHUP. Without a
/// file, every caller is the anonymous principal.
public final class AccessControl: Sendable {
  /// The tokens file, or nil when tokens are not checked.
  public let tokensFile: String?
  private let tokens = Mutex<AccessTokens?>(nil)

  /// Loads `tokensFile`, if any.
  ///
  /// - Throws: `UploadError` `.invalidRequest` naming the file and what is wrong in it.
  public init(tokensFile: String?) async throws(UploadError) {
    self.tokensFile = tokensFile
    try await reload()
  }

  /// Whether calls must carry a known token.
  public var isEnabled: Bool { tokensFile != nil }

  /// The number of tokens loaded.
  public var count: Int { tokens.withLock { $0?.entries.count ?? 0 } }

  /// Reads the tokens file again. On failure the tokens loaded before stay in force.
  ///
  /// - Throws: `UploadError` `.invalidRequest` naming the file and what is wrong in it.
  public func reload() async throws(UploadError) {
    guard let tokensFile else { return }
    let text: String
    do {
      let buffer = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(tokensFile)) { file in
        try await file.readToEnd(maximumSizeAllowed: .mebibytes(16))
      }
      text = String(buffer: buffer)
    } catch {
      throw UploadError(.invalidRequest, "cannot read the tokens file \(tokensFile): \(error)")
    }
    let parsed: AccessTokens
    do {
      parsed = try AccessTokens(parsing: text)
    } catch {
      throw UploadError(.invalidRequest, "the tokens file \(tokensFile), \(error.message)")
    }
    tokens.withLock { $0 = parsed }
  }

  /// The principal a bearer token stands for, or nil when it is unknown. With tokens disabled,
  /// the anonymous principal.
  func principal(forToken token: String?) -> Principal? {
    tokens.withLock { tokens in
      guard let tokens else { return .anonymous }
      guard let token else { return nil }
      return tokens.principal(for: token)
    }
  }
}
