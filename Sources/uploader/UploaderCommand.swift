import ArgumentParser
import Foundation

/// `uploader`: thin entry point; the work is in the `UploaderClient` library.
@main
struct UploaderCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "uploader",
    abstract: "Upload large files to an uploader-server, resuming after any interruption.",
    discussion: """
      Every upload is remembered in a local journal, so an interrupted upload (a dropped link, \
      a closed laptop, Ctrl-C) continues with `uploader resume <id>` from where the server's \
      durable data ends. While it runs, the client reconnects by itself.

      Examples:
        uploader upload backup.tar --key backups/2026-11-25.tar
        uploader status
        uploader resume 3f9a1c2b7e
        uploader verify 3f9a1c2b7e
        uploader abort 3f9a1c2b7e
        uploader forget --finished

      The connection options (--server, --token, --tls, --ca-cert, the client certificate \
      and key, and --state-dir) may come before the subcommand or after it. Shell completions: \
      uploader --generate-completion-script bash|zsh|fish.

      Exit codes: 0 success, 2 usage error, 1 any other failure, 130 interrupted.
      """,
    subcommands: [Upload.self, Resume.self, Status.self, Verify.self, Abort.self, Forget.self])

  /// Like `AsyncParsableCommand.main`, but usage errors exit with 2, as users expect from a
  /// Unix tool, and connection options may come before the subcommand.
  static func main() async {
    let arguments = Array(CommandLine.arguments.dropFirst())
    var parsed: ParsableCommand.Type?
    do {
      let subcommands = Set(configuration.subcommands.map { $0._commandName })
      var command = try parseAsRoot(GlobalOptionOrder.hoisted(arguments, subcommands: subcommands))
      parsed = type(of: command)
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        FileHandle.standardError.write(Data((usageMessage(for: error, after: parsed, arguments: arguments) + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
  }

  /// The message for a usage error: with the usage of the subcommand it concerns (a check made
  /// while running has no parser behind it to say which), and "did you mean" for a misspelt
  /// subcommand.
  static func usageMessage(for error: any Error, after parsed: ParsableCommand.Type?, arguments: [String]) -> String {
    if let parsed, parsed != UploaderCommand.self {
      return "Error: \(error)\nUsage: " + usageString(for: parsed)
        + "\n  See 'uploader \(parsed._commandName) --help' for more information."
    }
    let names = configuration.subcommands.map { $0._commandName }
    if let word = arguments.first(where: { !$0.hasPrefix("-") }), !names.contains(word),
      let guess = names.min(by: { EditDistance.between(word, $0) < EditDistance.between(word, $1) }),
      EditDistance.between(word, guess) <= 2
    {
      return "Error: unknown subcommand '\(word)'; did you mean '\(guess)'?\nUsage: " + usageString(for: UploaderCommand.self)
        + "\n  See 'uploader --help' for more information."
    }
    return fullMessage(for: error)
  }
}
