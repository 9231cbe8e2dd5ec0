// The order in which a loader visits a dataset in one epoch, and the random generator of each
// visit, both from (seed, epoch, position) only: runs repeat exactly whatever the thread count,
// and distributed ranks agree on the order without talking to each other.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace facekit {

std::mt19937 sample_generator(uint64_t seed, uint64_t epoch, uint64_t position);

// Indices 0..n-1, shuffled (or drawn with replacement by `weights` when given), padded by repeating
// the start to a multiple of `world_size`, and this rank's share: positions rank, rank + world, ...
// (PyTorch's DistributedSampler).
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle, const std::vector<double>& weights,
                                int rank, int world_size);

}  // namespace facekit
