#include "memory_tuning.h"

// The server's settings: blocks below 4 MiB (chunk and message buffers) come from the heap, and
// up to 16 MiB of free heap is kept, so buffers are reused instead of mapped and faulted in anew
// for every message. Measured on a 1 GiB upload into a server that discards it (release, 2
// cores): 130,000 page faults and 2.7 CPU s with blocks of 128 KiB and more mapped (the earlier
// setting, which kept RSS flat but paid a fault for every page of every chunk); 8,000-10,000
// and 2.3-2.7 CPU s with these, peak RSS 64-76 MiB against 62. A fixed threshold still stops
// glibc from raising it after each large free (RSS then grew upload after upload).
__attribute__((weak)) const struct uploader_malloc_settings uploader_malloc_settings = {
  .arenas = 2, .mmap_threshold = 4 * 1024 * 1024, .trim_threshold = 16 * 1024 * 1024};

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
