#include "datasets/epoch_order.h"

#include <algorithm>
#include <numeric>

namespace facekit {

std::mt19937 sample_generator(uint64_t seed, uint64_t epoch, uint64_t position) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(epoch),
                    static_cast<uint32_t>(position)};
  return std::mt19937(seq);
}

EpochShare epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle, const std::vector<double>& weights,
                       int rank, int world_size, size_t slice) {
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  auto rng = sample_generator(seed, static_cast<uint64_t>(epoch), ~uint64_t{0});
  if (!weights.empty()) {
    std::discrete_distribution<size_t> draw(weights.begin(), weights.end());
    for (auto& index : all) index = draw(rng);
  } else if (shuffle) {
    std::shuffle(all.begin(), all.end(), rng);
  }
  const size_t world = static_cast<size_t>(world_size), block = world * std::max<size_t>(1, slice);
  if (world > 1 && n > 0) {  // every rank gets as many samples: none waits for a batch that never comes
    for (size_t i = n; i % block != 0; ++i) all.push_back(all[i % n]);
  }
  EpochShare share;
  const size_t first = static_cast<size_t>(rank) * (block / world);
  for (size_t start = 0; start < all.size(); start += block) {
    for (size_t p = start + first; p < std::min(all.size(), start + first + block / world); ++p) {
      share.indices.push_back(all[p]);
      share.positions.push_back(p);
    }
  }
  return share;
}

}  // namespace facekit
