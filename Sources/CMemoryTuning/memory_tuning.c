#include "memory_tuning.h"

// The server's settings: every block of 128 KiB or more (chunk and message buffers) is its own
// mapping, returned to the system when freed, so RSS stays flat whatever the upload size. That
// costs page faults (measured: 130,000 for a 1 GiB upload into a server that discards it, about
// 0.3 CPU s). Keeping blocks below 4 MiB on the heap (the CLI's setting) saved that, but raised
// the peak RSS of a 256 MiB upload through the original contract from 107 to 123 MiB (135 in a
// loaded CI run, past the 128 MiB that test_server_memory_stays_flat_for_256_mib allows): a
// server keeps memory flat first.
__attribute__((weak)) const struct uploader_malloc_settings uploader_malloc_settings = {
  .arenas = 2, .mmap_threshold = 128 * 1024, .trim_threshold = 128 * 1024};

static int tuned = 0;

#if defined(__linux__)
#include <malloc.h>
#include <stdlib.h>

// Sets one malloc parameter unless glibc's own variable (MALLOC_ARENA_MAX, ...) already did.
static int tune(const char *variable, int parameter, int value) {
  if (getenv(variable) != NULL) return 1;
  return mallopt(parameter, value);
}

// Runs before main, so no thread has an arena yet: mallopt(M_ARENA_MAX) called later does not
// shrink the arenas that threads already own. A fixed mmap threshold also stops glibc from
// raising it after each large free, which made RSS grow upload after upload.
__attribute__((constructor)) static void uploader_tune_malloc(void) {
  const struct uploader_malloc_settings *s = &uploader_malloc_settings;
  tuned = tune("MALLOC_ARENA_MAX", M_ARENA_MAX, s->arenas) &&
          tune("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, s->mmap_threshold) &&
          tune("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, s->trim_threshold);
}
#endif

int uploader_malloc_tuned(void) { return tuned; }
