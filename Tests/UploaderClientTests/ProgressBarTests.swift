import Testing
import UploaderClient

@Suite struct ProgressBarTests {
  @Test func rendersBarPercentBytesRateAndETA() {
    let line = ProgressBar.render(done: 512 << 20, total: 1 << 30, bytesPerSecond: Double(64 << 20), width: 10)
    #expect(line == "[#####-----]  50%  512.0 MiB / 1.0 GiB  64.0 MiB/s  ETA 0:08")
  }

  @Test func withoutARateThereIsNoETA() {
    #expect(ProgressBar.render(done: 0, total: 100, bytesPerSecond: nil, width: 4) == "[----]   0%  0 B / 100 B")
  }

  @Test func anEmptyFileIsDone() {
    #expect(ProgressBar.render(done: 0, total: 0, bytesPerSecond: nil, width: 4).hasPrefix("[####] 100%"))
  }

  @Test func formatsBytesAndClocks() {
    #expect(ProgressBar.human(1023) == "1023 B")
    #expect(ProgressBar.human(1536) == "1.5 KiB")
    #expect(ProgressBar.human(5 << 40) == "5.0 TiB")
    #expect(ProgressBar.clock(42) == "0:42")
    #expect(ProgressBar.clock(3723) == "1:02:03")
  }

  @Test func aStreamOfUnknownSizeShowsBytesAndRateOnly() {
    #expect(ProgressBar.render(done: 3 << 20, total: nil, bytesPerSecond: Double(1 << 20)) == "3.0 MiB sent  1.0 MiB/s")
    #expect(ProgressBar.render(done: 0, total: nil, bytesPerSecond: nil) == "0 B sent")
  }
}

