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
