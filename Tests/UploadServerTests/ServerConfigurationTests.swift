import Testing

@testable import UploadServer

/// How the receive budget and the window decide how many upload streams run at once.
@Suite struct ServerConfigurationTests {
  @Test func theDefaultsKeepMaxStreamsWithinTheBudget() {
    let configuration = ServerConfiguration()
    #expect(configuration.uploadStreamLimit == configuration.maximumStreams)
    #expect(
      Int64(configuration.uploadStreamLimit) * Int64(configuration.http2TargetWindowSize)
        <= configuration.receiveBufferBudget)
    #expect(configuration.uploadStreamLimitSource == "--max-streams")
  }

  @Test func aLargerWindowLowersTheStreamLimitToFitTheBudget() {
    var configuration = ServerConfiguration()
    configuration.http2TargetWindowSize = 64 << 20
    configuration.receiveBufferBudget = 1 << 30
    #expect(configuration.uploadStreamLimit == 16)
    #expect(configuration.uploadStreamLimitSource == "--receive-budget / --http2-window")
  }

  @Test func theLimitIsAtLeastOneStream() {
    var configuration = ServerConfiguration()
    configuration.http2TargetWindowSize = 64 << 20
    configuration.receiveBufferBudget = 1 << 20
    #expect(configuration.uploadStreamLimit == 1)
  }

  @Test func maxStreamsStillCapsAGenerousBudget() {
    var configuration = ServerConfiguration()
    configuration.maximumStreams = 8
    configuration.receiveBufferBudget = 1 << 40
    #expect(configuration.uploadStreamLimit == 8)
    #expect(configuration.uploadStreamLimitSource == "--max-streams")
  }
}
