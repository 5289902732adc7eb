import Testing

@testable import UploadServer

/// How the receive budget and the window decide how many upload streams run at once.
@Suite struct ServerConfigurationTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var window: Int
    var budget: Int64
    var maximumStreams: Int
    var limit: Int
    var source: String

    var testDescription: String { "\(window >> 20) MiB window, budget \(budget >> 20) MiB, --max-streams \(maximumStreams)" }
  }

  @Test(arguments: [
    // The defaults: --max-streams decides, and every stream's window fits the budget.
    Case(window: 16 << 20, budget: 4 << 30, maximumStreams: 256, limit: 256, source: "--max-streams"),
    // A larger window lowers the limit to fit the budget.
    Case(window: 64 << 20, budget: 1 << 30, maximumStreams: 256, limit: 16, source: "--receive-budget / --http2-window"),
    // Never fewer than one stream.
    Case(window: 64 << 20, budget: 1 << 20, maximumStreams: 256, limit: 1, source: "--receive-budget / --http2-window"),
    // --max-streams still caps a generous budget.
    Case(window: 16 << 20, budget: 1 << 40, maximumStreams: 8, limit: 8, source: "--max-streams"),
  ])
  func theStreamLimitFitsTheBudget(_ test: Case) {
    var configuration = ServerConfiguration()
    configuration.http2TargetWindowSize = test.window
    configuration.receiveBufferBudget = test.budget
    configuration.maximumStreams = test.maximumStreams
    #expect(configuration.uploadStreamLimit == test.limit)
    #expect(configuration.uploadStreamLimitSource == test.source)
  }

  @Test func theDefaultsAreTheFirstCase() {
    let configuration = ServerConfiguration()
    #expect(configuration.http2TargetWindowSize == 16 << 20 && configuration.receiveBufferBudget == 4 << 30)
    #expect(configuration.maximumStreams == 256)
  }
}

/// The library refuses what the executable used to refuse alone, so an embedder cannot start a
/// server outside the ranges it works in; and it derives the settings that follow others.
@Suite struct ServerConfigurationRangeTests {
  @Test func aSettingOutOfRangeIsRefusedNamingItsFlag() {
    let changes: [(String, (inout ServerConfiguration) -> Void)] = [
      ("--max-object-size", { $0.sessions.maximumObjectSize = 0 }),
      ("--spool-limit", { $0.spoolLimit = 0 }),
      ("--http2-window", { $0.http2TargetWindowSize = 1 << 10 }),
      ("--receive-budget", { $0.receiveBufferBudget = 1 << 20 }),
      ("--stream-credit", { $0.sessions.receiveCreditBudget = 1 << 10 }),
      ("--max-forwarded-parts", { $0.sessions.maximumForwardedParts = -1 }),
      ("--ack-bytes", { $0.sessions.acknowledgementBytes = 1 }),
      ("--node-id", { $0.nodeID = "two words" }),
      ("--node-lapse", { $0.sessions.nodeLapse = .milliseconds(10) }),
    ]
    #expect(throws: Never.self) { try ServerConfiguration().validate() }
    for (flag, change) in changes {
      var configuration = ServerConfiguration()
      change(&configuration)
      do {
        try configuration.validate()
        Issue.record("\(flag): accepted")
      } catch {
        #expect(error.code == .invalidRequest)
        #expect(error.message.hasPrefix(flag), "\(error.message)")
      }
    }
  }

  @Test func derivedSettingsFollowTheirSources() {
    var configuration = ServerConfiguration()
    configuration.http2TargetWindowSize = 4 << 20
    #expect(configuration.sessions.maximumStreamCredit == 4 << 20)
    configuration.sessions.sessionTTL = .seconds(20)
    #expect(configuration.sessions.expiryCheckInterval == .seconds(5))
    configuration.sessions.sessionTTL = .seconds(3600)
    #expect(configuration.sessions.expiryCheckInterval == .seconds(60))
  }
}
