#include "train/step_memory.h"

#include <malloc.h>

#include <limits>

namespace facekit::train {

void keep_freed_memory_for_reuse() {
  // Threads other than the main one allocate from their own arenas; glibc still maps a block too
  // large for an arena, so nothing fails, those blocks are just not kept.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

}  // namespace facekit::train
