import CMemoryTuning

/// Keeps the server's memory flat across uploads (see `Sources/CMemoryTuning`).
///
/// Chunk buffers are allocated on event-loop threads and freed on others. With glibc's defaults
/// (up to 8 arenas per core, an mmap threshold that rises after each large free) every upload
/// touched more arenas and peak RSS kept growing: 107, 129, 131, 137, 141, 148 MiB over six
/// 256 MiB uploads (debug build). Tuned before `main`, it stays flat.
enum MemoryTuning {
  /// Whether the load-time tuning took effect (false off glibc).
  static var isApplied: Bool { uploader_malloc_tuned() != 0 }
}
