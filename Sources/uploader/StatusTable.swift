import UploaderClient

/// The human form of `uploader status`.
enum StatusTable {
  static func render(_ rows: [StatusJSON]) -> String {
    var lines = [["ID", "STATE", "PROGRESS", "SIZE", "KEY", "FILE"]]
    for row in rows {
      // A stream whose size is not known yet shows what the server holds.
      let unknown = row.size < 0
      let percent = row.size == 0 ? 100 : Int(Double(row.committedBytes) * 100 / Double(max(row.size, 1)))
      lines.append([
        row.id, row.state, unknown ? ProgressBar.human(row.committedBytes) : "\(percent)%",
        unknown ? "unknown" : ProgressBar.human(row.size), row.key,
        row.file == JournalUpload.standardInput ? "(standard input)" : row.file,
      ])
    }
    let widths = (0..<6).map { column in lines.map { $0[column].count }.max() ?? 0 }
    var text = lines.map { cells in
      zip(cells, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
        .joined(separator: "  ").trimmingTrailingSpaces()
    }
    for row in rows where row.error != nil || row.state == "uploading" || row.state == "pending" {
      if let error = row.error { text.append("\(row.id): \(error)") }
      if row.file == JournalUpload.standardInput, row.state != "completed", row.state != "aborted" {
        text.append("\(row.id): not resumable (standard input is gone once its uploader stops); while it runs it reconnects by itself, else clean up with `uploader abort \(row.id)`")
      } else if row.resumable, row.state != "failed" {
        text.append("\(row.id): continue with `uploader resume \(row.id)`")
      }
    }
    var batches: [String: [StatusJSON]] = [:]
    for row in rows { if let batch = row.batchID { batches[batch, default: []].append(row) } }
    for (batch, members) in batches.sorted(by: { $0.key < $1.key }) {
      let completed = members.filter { $0.state == "completed" }.count
      var line = "batch \(batch): \(completed) of \(members.count) files completed"
      if members.contains(where: \.resumable) { line += "; continue them all with `uploader resume \(batch)`" }
      text.append(line)
    }
    return text.joined(separator: "\n")
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var text = self
    while text.hasSuffix(" ") { text.removeLast() }
    return text
  }
}
