import Foundation
import GRPCCore
import UploadCore
import UploadProtocol

extension Uploader_V1_Session {
  /// Whether the server read the object back and found the client's SHA-256.
  public var isVerified: Bool { !verifiedSha256.isEmpty && verifiedSha256 == sha256 }

  /// A completed session as the user should get it: verified first when `upload.verify` asks for
  /// it and it is not yet (an earlier completion may have been cut off before its read back).
  ///
  /// - Throws: `ClientError` (recorded as failed) when the object read back is not the file.
  func finished(
    _ upload: JournalUpload, client: UploadEngine.Client, metadata: Metadata
  ) async throws -> Uploader_V1_Session {
    var session = self
    if upload.verify, session.verifiedSha256.isEmpty {
      session = try await client.verifySession(.with { $0.sessionID = session.id }, metadata: metadata)
    }
    guard session.verifiedSha256.isEmpty || session.isVerified else {
      let source = upload.readsStandardInput ? "standard input" : upload.filePath
      throw ClientError(
        "the object \"\(session.key)\" was read back with SHA-256 \(Hex.encode(session.verifiedSha256)), but \(source) hashed to \(Hex.encode(session.sha256)): the object does not match the file (was the file changed while it was read?). Upload it again")
    }
    return session
  }
}
