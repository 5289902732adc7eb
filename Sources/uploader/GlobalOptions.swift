import ArgumentParser
import Foundation
import UploadCore
import UploaderClient

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
  @Option(help: "The server, HOST:PORT. (default: $UPLOADER_SERVER, else 127.0.0.1:50051)")
  var server: String?

  @Option(help: "Sent as 'authorization: Bearer TOKEN'. (default: $UPLOADER_TOKEN)")
  var token: String?

  @Option(help: "Where the journal lives. (default: $UPLOADER_STATE_DIR, else $XDG_STATE_HOME/uploader, else ~/.local/state/uploader)")
  var stateDir: String?

  var environment: [String: String] { ProcessInfo.processInfo.environment }

  var serverAddress: String { server ?? environment["UPLOADER_SERVER"] ?? "127.0.0.1:50051" }

  var bearerToken: String? { token ?? environment["UPLOADER_TOKEN"] }

  var stateDirectory: String {
    if let stateDir { return stateDir }
    if let dir = environment["UPLOADER_STATE_DIR"], !dir.isEmpty { return dir }
    if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/uploader" }
    return NSHomeDirectory() + "/.local/state/uploader"
  }

  func validate() throws {
    _ = try endpoint()
  }

  /// The server's host and port.
  func endpoint() throws -> (host: String, port: Int) {
    guard let address = HostPort.parse(serverAddress), address.port > 0 else {
      throw ValidationError("--server \"\(serverAddress)\" is not HOST:PORT")
    }
    return address
  }

  func openJournal() throws -> Journal {
    do {
      return try Journal.open(directory: stateDirectory)
    } catch {
      throw ClientError("cannot open the journal in \(stateDirectory): \(error)")
    }
  }
}
