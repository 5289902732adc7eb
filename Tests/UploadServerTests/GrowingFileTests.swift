import Testing

@testable import UploadServer

@Suite(.timeLimit(.minutes(1))) struct GrowingFileTests {
  @Test func aReaderWaitsUntilTheWriterIsFarEnough() async throws {
    let file = GrowingFile()
    let reader = Task { try await file.waitUntil(100) }
    while file.waitingReaders == 0 { await Task.yield() }
    file.advance(to: 50)
    #expect(file.waitingReaders == 1, "50 bytes are not far enough for a reader of 100")
    file.advance(to: 100)
    #expect(file.waitingReaders == 0)
    try await reader.value
    // Bytes already written: no wait.
    try await file.waitUntil(80)
    #expect(file.waitingReaders == 0)
  }

  @Test func abandoningFailsWaitingAndLaterReaders() async {
    let file = GrowingFile()
    file.advance(to: 10)
    let reader = Task { try await file.waitUntil(100) }
    while file.waitingReaders == 0 { await Task.yield() }
    file.abandon()
    #expect(file.waitingReaders == 0)
    await #expect(throws: CancellationError.self) { try await reader.value }
    await #expect(throws: CancellationError.self) { try await file.waitUntil(5) }
  }

  @Test func theWatermarkNeverGoesBack() async throws {
    let file = GrowingFile()
    file.advance(to: 100)
    file.advance(to: 40)
    #expect(file.written == 100)
    try await file.waitUntil(100)
  }
}
