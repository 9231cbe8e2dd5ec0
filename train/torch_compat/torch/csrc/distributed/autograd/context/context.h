// Debian's libtorch-dev 1.13 ships torch/csrc/distributed/c10d/reducer.hpp (c10d's Reducer, which
// train/distributed.cpp uses) but not this header it includes, which belongs to distributed
// autograd (RPC), packaged separately upstream. reducer.hpp needs only two names from it: a static
// assert on GradCallback's type and ContextPtr as a member's type (a shared_ptr and a raw pointer,
// never dereferenced by facekit). Both are declared here exactly as upstream's
// torch/csrc/distributed/autograd/context/context.h declares them; nothing else of the class is
// used. Only train/distributed.cpp sees this folder (train/CMakeLists.txt).
#pragma once

#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
