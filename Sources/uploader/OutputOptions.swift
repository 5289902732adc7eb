import ArgumentParser
import Foundation

/// `--no-progress` and `--json`.
struct OutputOptions: ParsableArguments {
  @Flag(help: "Do not show a progress bar (none is shown when stderr is not a terminal).")
  var noProgress = false

  @Flag(help: "Print the result as JSON.")
  var json = false

  var showsProgress: Bool { !noProgress && isatty(STDERR_FILENO) == 1 }
}
