import GRPCCore
import NIOFileSystem
import UploadCore
import UploadProtocol

extension UploadEngine {
  /// Whether the file changed during the upload, so no retry can succeed: its size, time or
  /// inode moved (one stat; bytes changed in transit leave them alone, and cost no read), and
  /// then a part the server has not committed no longer hashes to the digest the journal holds
  /// (each read once). Then the session is aborted and the upload stops, recorded as aborted.
  func stopIfChanged(_ upload: JournalUpload) async throws {
    guard upload.identity.changes(to: try await LocalFile.identity(of: upload.filePath)) != nil,
      let (number, range) = try await FileDigester.firstChanged(try await journal.parts(of: upload.id), in: upload.filePath)
    else { return }
    if let sessionID = try await journal.upload(upload.id)?.sessionID {
      _ = try? await unaryClient().abortSession(.with { $0.sessionID = sessionID }, metadata: options.metadata)
    }
    throw ClientError(
      "\(upload.filePath) changed during the upload: part \(number), \(ProgressBar.human(range.lowerBound))–\(ProgressBar.human(range.upperBound)), differs from what was read; nothing of it was stored, and the upload is aborted; start a new upload",
      journalState: .aborted)
  }
}
