// Training allocates and frees the same large activation and gradient buffers at every step.
// glibc hands blocks above its mmap threshold (at most 32 MB) straight back to the kernel when they
// are freed, so each step maps them again and page-faults every page in, zeroed: for yolov3-tiny
// at 416x416, batch 8, 9.5 s of a 24 s run went to the kernel. Keeping freed memory in the
// process's heap for reuse took that to 1.8 s (3.7 -> 4.2 img/s, tools/bench_train_detector.sh).
// The cost: the process keeps its peak heap until it exits, which a training process does anyway.
#pragma once

namespace facekit::train {

// glibc's mallopt: no mmap for the main heap and no trimming of its top. Call once, before training.
void keep_freed_memory_for_reuse();

}  // namespace facekit::train
