import ArgumentParser
import Foundation
import UploadProtocol
import UploaderClient

struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show uploads: every one in the journal, or one refreshed from the server.",
    discussion: """
      Examples:
        uploader status
        uploader status 3f9a1c2b7e --json
        uploader status 0f1e2d3c4b5a69788796a5b4c3d2e1f0 --remote
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "An upload's id or server session id; without it, every upload in the journal.") var id: String?
  @Flag(help: "Ask the server about a session id that is not in the journal.") var remote = false
  @Flag(help: "Print JSON: an object for one upload, an array for all.") var json = false

  func run() async throws {
    try await reportingErrors {
      // Reading creates nothing: no journal is no uploads.
      let journal = try global.existingJournal()
      guard let id else {
        let uploads = try await journal?.uploads() ?? []
        let parts = try await journal?.partsByUpload() ?? [:]
        let rows = uploads.map { StatusJSON($0, parts: parts[$0.id] ?? []) }
        if json {
          print(try StatusJSON.json(rows))
        } else if rows.isEmpty {
          print("no uploads in \(global.stateDirectory)")
        } else {
          print(StatusTable.render(rows))
        }
        return
      }
      if let journal, let upload = try await journal.upload(id) {
        let row = try await refreshed(upload, journal: journal)
        print(json ? try StatusJSON.json(row) : StatusTable.render([row]))
      } else if remote {
        try await showRemote(id)
      } else {
        let error = global.unknownUpload(id)
        throw GlobalOptions.isSessionID(id) ? ClientError(error.message + "; for a server session id, add --remote") : error
      }
    }
  }

  /// The journal's view, with the committed bytes the server reports when it can be reached.
  private func refreshed(_ upload: JournalUpload, journal: Journal) async throws -> StatusJSON {
    let parts = try await journal.parts(of: upload.id)
    guard let sessionID = upload.sessionID, upload.state == .uploading || upload.state == .pending else {
      return StatusJSON(upload, parts: parts)
    }
    var global = global
    global.defaultServer(to: upload.server)
    let session = try? await withSessionsClient(global) { client, metadata in
      try await client.getSession(.with { $0.sessionID = sessionID }, metadata: metadata)
    }
    guard let session else { return StatusJSON(upload, parts: parts) }
    var row = StatusJSON(upload, parts: parts, committedBytes: session.durableBytes)
    switch session.state {
    case .expired: row.state = "expired"
    case .aborted: row.state = "aborted"
    case .completed: row.state = "completed"
    default: break
    }
    return row
  }

  private func showRemote(_ sessionID: String) async throws {
    let session: Uploader_V1_Session
    do {
      session = try await withSessionsClient(global) { client, metadata in
        try await client.getSession(.with { $0.sessionID = sessionID }, metadata: metadata)
      }
    } catch let error as ClientError {
      throw error
    } catch {
      throw ClientError("the server at \(global.serverAddress) did not answer for session \(sessionID): \(UploadFailure.describe(error))")
    }
    let durable = session.durableBytes
    if json {
      struct Remote: Encodable {
        var schema_version = StatusJSON.schemaVersion
        var session_id: String, key: String, state: String, size: UInt64, committed_bytes: Int64, sha256: String?
      }
      let state = "\(session.state)".replacingOccurrences(of: "sessionState", with: "")
      print(try StatusJSON.json(Remote(
        session_id: session.id, key: session.key, state: state, size: session.size, committed_bytes: durable,
        sha256: session.sha256.isEmpty ? nil : session.sha256.map { String(format: "%02x", $0) }.joined())))
    } else {
      print("session \(session.id)  \(session.state)  \(session.key)  \(durable)/\(session.size) bytes")
    }
  }
}
