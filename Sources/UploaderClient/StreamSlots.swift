/// Which part streams of an attempt are running, by index (stream `i` runs on connection `i`).
///
/// The tuner's count moves both ways: a stream past a lowered count stops after its part and
/// frees its index, and a later raise must start streams there again. A running total would not
/// do: after a doubling that did not pay and a later try, it would count the stopped streams as
/// started and open none.
struct StreamSlots: Sendable {
  /// The indexes of the streams running now.
  private(set) var running = Set<Int>()

  /// Whether no stream runs.
  var isEmpty: Bool { running.isEmpty }
  /// How many streams run.
  var count: Int { running.count }

  /// The next index below `target` with no stream running, to start one there; nil when every
  /// index below it runs.
  func free(below target: Int) -> Int? {
    (0..<max(0, target)).first { !running.contains($0) }
  }

  /// A stream started at `index`.
  mutating func started(_ index: Int) {
    running.insert(index)
  }

  /// The stream at `index` ended (its parts sent, told to stop, or failed).
  mutating func ended(_ index: Int) {
    running.remove(index)
  }
}
