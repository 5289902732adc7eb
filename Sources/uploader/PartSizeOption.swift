import ArgumentParser

/// `--part-size`, for a new upload (a resumed one keeps its parts).
struct PartSizeOption: ParsableArguments {
  @Option(help: """
    Part size, such as 8MiB or 64MiB; at least 5MiB. (default: 8MiB, down to 5MiB so that \
    --max-connections streams get two parts each, larger for files past 80GiB)
    """)
  var partSize: String?
}
