import Foundation
import UploadCore

extension ListedPart {
  /// What CompleteSession does with a committed part, given what the store lists for its number.
  enum Verdict: Hashable, Sendable {
    /// Complete with this ETag.
    case complete(etag: String)
    /// The store does not hold the recorded bytes: receive the part again.
    case receiveAgain(String)
  }

  /// The recorded part against the store's entries for its number. An entry with the recorded
  /// ETag and size (and SHA-256, when the store reports one) is the part. Else an entry with the
  /// recorded size and SHA-256 holds the same bytes under another ETag (a late upload of them,
  /// by a node that was taken over): complete with that ETag. Anything else, including no entry,
  /// or another ETag whose bytes the store cannot vouch for, means the bytes must come again.
  /// A store that lists no ETags (the local directory) is judged by size.
  static func verdict(for part: PartRecord, listed: [ListedPart]) -> Verdict {
    let recorded = part.etag.map(unquoted) ?? ""
    func sameSize(_ entry: ListedPart) -> Bool { entry.size.map { $0 == part.size } ?? true }
    func sameBytes(_ entry: ListedPart) -> Bool { entry.sha256.map { $0 == part.sha256 } ?? true }
    if let entry = listed.first(where: { unquoted($0.etag) == recorded && sameSize($0) && sameBytes($0) }) {
      return .complete(etag: entry.etag)
    }
    if listed.contains(where: { $0.etag.isEmpty && sameSize($0) }) {
      return .complete(etag: part.etag ?? "")
    }
    if let entry = listed.first(where: { $0.sha256 != nil && $0.sha256 == part.sha256 && sameSize($0) }) {
      return .complete(etag: entry.etag)
    }
    if listed.isEmpty { return .receiveAgain("the store does not list it") }
    let sizes = listed.map { $0.size.map(String.init) ?? "?" }.joined(separator: ", ")
    return .receiveAgain(
      "the store lists other bytes under its number (ETag \(listed.map(\.etag).joined(separator: ", ")), size \(sizes); recorded ETag \(part.etag ?? "none"), size \(part.size))")
  }

  private static func unquoted(_ etag: String) -> String {
    etag.trimmingCharacters(in: ["\""])
  }
}
