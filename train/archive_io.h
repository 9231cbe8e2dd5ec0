// Reading training state back from a torch::serialize archive, and sizing what a run will write.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace facekit::train {

// One entry as a fresh tensor: InputArchive::read into an already defined tensor resizes it in
// place, which the archive's own storage refuses ("Trying to resize storage that is not resizable").
inline torch::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t);
  return t;
}

// Bytes of a module's parameters and buffers: what one checkpoint of it takes.
inline std::uintmax_t module_bytes(const torch::nn::Module& module) {
  std::uintmax_t bytes = 0;
  for (const auto& t : module.parameters()) bytes += t.numel() * t.element_size();
  for (const auto& t : module.buffers()) bytes += t.numel() * t.element_size();
  return bytes;
}

// A run's outputs at their largest: last, best, final or state files (the state with the
// optimiser's moments) and the temporary copy of one being written.
constexpr std::uintmax_t kCheckpointCopies = 8;

}  // namespace facekit::train
