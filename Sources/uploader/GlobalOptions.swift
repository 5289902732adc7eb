import ArgumentParser
import Foundation
import UploadCore
import UploaderClient

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
  @Option(help: ArgumentHelp("""
    The server, HOST:PORT; or several replicas, IP:PORT,IP:PORT,...: calls go round robin to \
    those that answer, skipping one that cannot be reached. (default: $UPLOADER_SERVER, else \
    127.0.0.1:50051)
    """, valueName: "address"))
  var server: String?

  @Option(help: "Sent as 'authorization: Bearer TOKEN'. (default: $UPLOADER_TOKEN)")
  var token: String?

  @Flag(help: "Connect with TLS, verifying the server against --ca-cert (or the system's roots). (default: $UPLOADER_TLS=1)")
  var tls = false

  @Option(help: ArgumentHelp("PEM CA certificate(s) to verify the server with; implies --tls. (default: $UPLOADER_CA_CERT)", valueName: "file"))
  var caCert: String?

  @Option(help: ArgumentHelp("PEM client certificate, for servers that require mutual TLS; implies --tls. (default: $UPLOADER_CLIENT_CERT)", valueName: "file"))
  var clientCert: String?

  @Option(help: ArgumentHelp("PEM private key of --client-cert. (default: $UPLOADER_CLIENT_KEY)", valueName: "file"))
  var clientKey: String?

  @Option(help: "Where the journal lives. (default: $UPLOADER_STATE_DIR, else $XDG_STATE_HOME/uploader, else ~/.local/state/uploader)")
  var stateDir: String?

  var environment: [String: String] { ProcessInfo.processInfo.environment }

  var serverAddress: String { server ?? environmentServer ?? "127.0.0.1:50051" }

  /// `UPLOADER_SERVER`, unless unset or empty.
  private var environmentServer: String? { environment["UPLOADER_SERVER"].flatMap { $0.isEmpty ? nil : $0 } }

  var bearerToken: String? { token ?? environment["UPLOADER_TOKEN"] }

  var stateDirectory: String {
    if let stateDir { return stateDir }
    if let dir = environment["UPLOADER_STATE_DIR"], !dir.isEmpty { return dir }
    if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/uploader" }
    return NSHomeDirectory() + "/.local/state/uploader"
  }

  var caCertificate: String? { caCert ?? environment["UPLOADER_CA_CERT"] }
  var clientCertificate: String? { clientCert ?? environment["UPLOADER_CLIENT_CERT"] }
  var clientPrivateKey: String? { clientKey ?? environment["UPLOADER_CLIENT_KEY"] }

  /// Whether to connect with TLS: asked for, or implied by a certificate option.
  var usesTLS: Bool {
    tls || environment["UPLOADER_TLS"] == "1" || caCertificate != nil || clientCertificate != nil
  }

  func validate() throws {
    _ = try endpoints()
    guard (clientCertificate == nil) == (clientPrivateKey == nil) else {
      throw ValidationError("--client-cert and --client-key go together")
    }
    for (flag, path) in [("--ca-cert", caCertificate), ("--client-cert", clientCertificate), ("--client-key", clientPrivateKey)] {
      if let path, !FileManager.default.isReadableFile(atPath: path) {
        throw ValidationError("\(flag) \(path): no such readable file")
      }
    }
  }

  /// The servers' hosts and ports, in the order given.
  func endpoints() throws -> [(host: String, port: Int)] {
    do {
      return try ServerConnection(server: serverAddress).endpoints
    } catch let error as ClientError {
      throw ValidationError("--server: \(error.message)")
    }
  }

  /// Uses `server` (an upload's, from the journal) unless --server or UPLOADER_SERVER names one.
  mutating func defaultServer(to server: String) {
    if self.server == nil, environmentServer == nil { self.server = server }
  }

  /// The journal, for commands that only read it: nil where there is none, so that they create
  /// nothing.
  func existingJournal() throws -> Journal? {
    do {
      return try Journal.openExisting(directory: stateDirectory)
    } catch {
      throw ClientError("cannot open the journal in \(stateDirectory): \(error)")
    }
  }

  /// The upload `id` names (its id or its server session id), or the same error from every
  /// subcommand.
  func upload(_ id: String, in journal: Journal?) async throws -> JournalUpload {
    guard let upload = try await journal?.upload(id) else { throw unknownUpload(id) }
    return upload
  }

  /// What every subcommand says of an id the journal does not know.
  func unknownUpload(_ id: String) -> ClientError {
    ClientError("no upload \(id) in the journal at \(stateDirectory); `uploader status` lists the uploads it knows")
  }

  /// Whether `id` looks like a server session id (32 lowercase hex digits), not a journal id.
  static func isSessionID(_ id: String) -> Bool {
    (try? SessionID(validating: id)) != nil
  }

  func openJournal() throws -> Journal {
    do {
      return try Journal.open(directory: stateDirectory)
    } catch {
      throw ClientError("cannot open the journal in \(stateDirectory): \(error)")
    }
  }
}
