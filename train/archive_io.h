// Reading training state back from a torch::serialize archive.
#pragma once

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

}  // namespace facekit::train
