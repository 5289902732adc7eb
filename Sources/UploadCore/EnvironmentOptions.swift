/// Lets every command-line option also come from the environment: `--data-dir` from
/// `UPLOADER_DATA_DIR`, and so on. An option given on the command line wins.
public enum EnvironmentOptions {
  /// The environment variable of option `name` (without dashes): `data-dir` -> `UPLOADER_DATA_DIR`.
  public static func variable(for name: String) -> String {
    "UPLOADER_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
  }

  /// The option name ArgumentParser derives from a property name: `sessionTTL` ->
  /// `session-ttl`, `s3Bucket` -> `s3-bucket` (its `convertedToSnakeCase(separator: "-")`).
  public static func optionName(forProperty property: String) -> String {
    var result = ""
    var separateOnUppercase = true
    let characters = Array(property)
    for (index, character) in characters.enumerated() {
      if character.isUppercase {
        if separateOnUppercase && !result.isEmpty { result += "-" }
        // "L" in "URLSession" starts a word: an uppercase letter followed by a lowercase one.
        separateOnUppercase =
          index + 2 < characters.count && characters[index + 1].isUppercase && characters[index + 2].isLowercase
      } else {
        separateOnUppercase = character != "-"
      }
      result += character.lowercased()
    }
    return result
  }

  /// `arguments` plus `--name value` for every option in `names` that `arguments` lacks and the
  /// environment sets. Flags (`flags`) are added bare when their variable is `1`, `true` or `yes`.
  public static func merge(
    _ arguments: [String], names: [String], flags: [String] = [], environment: [String: String]
  ) -> [String] {
    var merged = arguments
    func given(_ name: String) -> Bool {
      arguments.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
    }
    for name in names where !given(name) {
      if let value = environment[variable(for: name)], !value.isEmpty { merged += ["--\(name)", value] }
    }
    for flag in flags where !given(flag) {
      if let value = environment[variable(for: flag)], ["1", "true", "yes"].contains(value.lowercased()) {
        merged.append("--\(flag)")
      }
    }
    return merged
  }
}

extension String {
  fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
    split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
  }
}
