/// A failure the CLI reports as it is, with a non-zero exit code.
public struct ClientError: Error, CustomStringConvertible, Sendable {
  /// What happened and what to do, for people.
  public let message: String
  /// What the journal records for the upload when this error stops it; nil leaves the journal
  /// as it is (the upload can still be resumed once the cause is gone).
  public let journalState: JournalUpload.State?

  /// An error; `journalState` is what the journal records for the upload it stops.
  public init(_ message: String, journalState: JournalUpload.State? = .failed) {
    self.message = message
    self.journalState = journalState
  }

  /// The message.
  public var description: String { message }
}
