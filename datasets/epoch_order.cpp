#include "datasets/epoch_order.h"

#include <algorithm>
#include <numeric>

namespace facekit {

std::mt19937 sample_generator(uint64_t seed, uint64_t epoch, uint64_t position) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(epoch),
                    static_cast<uint32_t>(position)};
  return std::mt19937(seq);
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle, const std::vector<double>& weights,
                                int rank, int world_size) {
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  auto rng = sample_generator(seed, static_cast<uint64_t>(epoch), ~uint64_t{0});
  if (!weights.empty()) {
    std::discrete_distribution<size_t> draw(weights.begin(), weights.end());
    for (auto& index : all) index = draw(rng);
  } else if (shuffle) {
    std::shuffle(all.begin(), all.end(), rng);
  }
  const size_t world = static_cast<size_t>(world_size);
  const size_t per_rank = (n + world - 1) / world;
  for (size_t i = n; i < per_rank * world && n > 0; ++i) all.push_back(all[i % n]);
  std::vector<size_t> share;
  for (size_t i = static_cast<size_t>(rank); i < all.size(); i += world) share.push_back(all[i]);
  return share;
}

}  // namespace facekit
