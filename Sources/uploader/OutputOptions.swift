import ArgumentParser
import Foundation

/// `--no-progress`, `--json` and `--verbose`.
struct OutputOptions: ParsableArguments {
  @Flag(help: "Do not show a progress bar (none is shown when stderr is not a terminal).")
  var noProgress = false

  @Flag(help: "Print the result as JSON.")
  var json = false

  @Flag(help: "Say what the connections do: the congestion control used, connections opened and closed as the measured throughput asks, reconnections.")
  var verbose = false

  var showsProgress: Bool { !noProgress && isatty(STDERR_FILENO) == 1 }
}
