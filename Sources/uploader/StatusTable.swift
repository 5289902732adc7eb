import UploaderClient

/// The human form of `uploader status`.
enum StatusTable {
  static func render(_ rows: [StatusJSON]) -> String {
    var lines = [["ID", "STATE", "PROGRESS", "SIZE", "KEY", "FILE"]]
    for row in rows {
      let percent = row.size == 0 ? 100 : Int(Double(row.committedBytes) * 100 / Double(row.size))
      lines.append([
        row.id, row.state, "\(percent)%", ProgressBar.human(row.size), row.key, row.file,
      ])
    }
    let widths = (0..<6).map { column in lines.map { $0[column].count }.max() ?? 0 }
    var text = lines.map { cells in
      zip(cells, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
        .joined(separator: "  ").trimmingTrailingSpaces()
    }
    for row in rows where row.error != nil || row.state == "uploading" || row.state == "pending" {
      if let error = row.error { text.append("\(row.id): \(error)") }
      if row.state == "uploading" || row.state == "pending" { text.append("\(row.id): continue with `uploader resume \(row.id)`") }
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
