// The order in which a loader visits a dataset in one epoch, and the random generator of each
// visit, both from (seed, epoch, position) only: runs repeat exactly whatever the thread count,
// and distributed ranks agree on the order without talking to each other.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace facekit {

std::mt19937 sample_generator(uint64_t seed, uint64_t epoch, uint64_t position);

// This rank's samples of one epoch: dataset indices, and each one's place in the whole epoch's
// order (what augmentation draws from, so that the rank a sample lands on does not change it).
struct EpochShare {
  std::vector<size_t> indices, positions;
};

// Indices 0..n-1, shuffled (or drawn with replacement by `weights` when given); with several ranks,
// padded by repeating the start to a multiple of world_size x slice, and cut into consecutive
// slices of `slice` positions dealt to the ranks in turn: rank r takes positions
// [r x slice, (r + 1) x slice) of every block of world_size x slice. slice 1 is PyTorch's
// DistributedSampler; slice = the per-rank batch makes each global batch the same samples as one
// process with world_size x slice per batch, rank r holding its r-th micro-batch.
EpochShare epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle, const std::vector<double>& weights,
                       int rank, int world_size, size_t slice = 1);

}  // namespace facekit
