/// The media type (content type) of a file, guessed from its extension, as aws cli and rclone
/// do: the common types of the files people move in bulk. Unknown extensions have none, and
/// the store then uses its default (`binary/octet-stream` in S3).
public enum MediaType {
  /// The media type for `fileName`'s extension (case-insensitive), or nil.
  public static func guess(forFileName fileName: String) -> String? {
    let name = fileName.split(separator: "/").last.map(String.init) ?? fileName
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
    return byExtension[name[name.index(after: dot)...].lowercased()]
  }

  static let byExtension: [String: String] = [
    // Binary files as aws cli (Python's mimetypes) names them.
    "bin": "application/octet-stream", "dll": "application/octet-stream", "exe": "application/octet-stream",
    "so": "application/octet-stream",
    "7z": "application/x-7z-compressed", "aac": "audio/aac", "avi": "video/x-msvideo", "avif": "image/avif",
    "bz2": "application/x-bzip2", "csv": "text/csv", "css": "text/css", "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "flac": "audio/flac", "gif": "image/gif", "gz": "application/gzip", "heic": "image/heic", "htm": "text/html",
    "html": "text/html", "ico": "image/vnd.microsoft.icon", "iso": "application/x-iso9660-image",
    "jar": "application/java-archive", "jpeg": "image/jpeg", "jpg": "image/jpeg", "js": "text/javascript",
    "json": "application/json", "jsonl": "application/jsonl", "m4a": "audio/mp4", "md": "text/markdown",
    "mkv": "video/x-matroska", "mov": "video/quicktime", "mp3": "audio/mpeg", "mp4": "video/mp4",
    "mpeg": "video/mpeg", "ndjson": "application/x-ndjson", "ogg": "audio/ogg", "parquet": "application/vnd.apache.parquet",
    "pdf": "application/pdf", "png": "image/png", "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "rar": "application/vnd.rar", "sql": "application/sql", "svg": "image/svg+xml", "tar": "application/x-tar",
    "tgz": "application/gzip", "tif": "image/tiff", "tiff": "image/tiff", "ts": "video/mp2t", "tsv": "text/tab-separated-values",
    "txt": "text/plain", "wav": "audio/wav", "webm": "video/webm", "webp": "image/webp", "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xml": "application/xml",
    "xz": "application/x-xz", "yaml": "application/yaml", "yml": "application/yaml", "zip": "application/zip",
    "zst": "application/zstd",
  ]
}
