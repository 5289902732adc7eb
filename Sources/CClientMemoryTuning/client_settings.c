#include "memory_tuning.h"

// The CLI's settings. It reads the file in 1 MiB blocks (the hash pass) and 256 KiB chunks
// (the sends), and gRPC serialises each chunk into a fresh 256 KiB message buffer: with blocks
// below 4 MiB served from the heap, up to 16 MiB of free heap kept and one arena (the threads
// that allocate are not the ones that free), those buffers are reused instead of mapped and
// faulted in anew. Measured on a 1 GiB upload (release, 2 cores, server discarding): 0.70
// million page faults and 5.3 CPU s (2.3 of them in the kernel) with 2 arenas, 512 KiB and
// 2 MiB; 0.05 million and 3.6-3.8 CPU s (0.65-0.75 in the kernel) with these, at 62-64 MiB peak
// RSS. scripts/bench.sh, into S3: 5.2 CPU s per GiB before, 3.3 after (docs/BENCHMARKS.md).
const struct uploader_malloc_settings uploader_malloc_settings = {
  .arenas = 1, .mmap_threshold = 4 * 1024 * 1024, .trim_threshold = 16 * 1024 * 1024};
