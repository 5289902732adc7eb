extension Duration {
  /// The duration in seconds, as a `Double` (for rates and for people).
  public var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
