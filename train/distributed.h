// Data-parallel training on PyTorch's own distributed engine, c10d: a TCPStore rendezvous and a
// ProcessGroupGloo (CPU). Launch conventions are torchrun's and Slurm's, so existing launchers work.
//
// How the trainers use it (see README, "Training on several processes or machines"):
// - rank 0 broadcasts the initial weights, so every rank starts from the same ones;
// - every global batch is cut into world_size consecutive slices, one per rank
//   (datasets/epoch_order); augmentation draws from the sample's place in the epoch, not the rank;
// - gradients are averaged over the ranks while backward runs, by c10d's Reducer (the engine of
//   PyTorch's DistributedDataParallel): buckets of ~1 MB, then ~25 MB, each all-reduced as soon as
//   its gradients are ready; with several micro-batches per rank only the last backward syncs;
// - BatchNorm normalises with each rank's own slice (no SyncBatchNorm), which is exactly what one
//   process computes with `subdivisions` = world_size micro-batches; running statistics are
//   averaged over the ranks before every checkpoint;
// - only rank 0 writes checkpoints, logs and plots;
// - a rank that dies or stops answering makes the others fail within `timeout` with a message.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace c10d {
class ProcessGroup;
class Reducer;
class Work;
}  // namespace c10d

namespace facekit::train {

struct DistributedOptions {
  int rank = 0, world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "gloo";
  std::chrono::seconds timeout{60};
};

// From --dist-url tcp://HOST:PORT (when given) and the environment: RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT (torchrun), else SLURM_PROCID, SLURM_NTASKS (srun; MASTER_ADDR and
// MASTER_PORT still needed). Explicit rank / world_size (>= 0) win. Throws naming what is missing
// or malformed.
DistributedOptions distributed_options(const std::string& dist_url, int rank, int world_size);

class DataParallel {
 public:
  // world_size 1: nothing to connect, every call is a no-op.
  explicit DataParallel(const DistributedOptions& options);
  ~DataParallel();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_main() const { return options_.rank == 0; }
  bool active() const { return options_.world_size > 1; }

  // Rank 0's parameters and buffers to every rank.
  void broadcast(torch::nn::Module& module);
  // The parameters whose gradients backward(..., sync) averages; call once, after broadcast, with
  // the trainable ones. Parameters frozen later simply get no gradient.
  void reduce_gradients_of(const std::vector<torch::Tensor>& parameters);
  // loss.backward(). With `sync` (a step's last micro-batch) the gradients accumulated so far are
  // averaged over the ranks before it returns; an undefined `loss` only syncs (a rank whose last
  // micro-batch had nothing to train on must still take part). Without `sync` they accumulate
  // locally, like DistributedDataParallel's no_sync().
  void backward(const torch::Tensor& loss, bool sync);
  // Element-wise sum over the ranks (losses, counts), in place.
  void sum(torch::Tensor& values);
  // Whether `value` holds on every rank (a check each rank made on its own data).
  bool all_true(bool value);
  // Buffers (BN running statistics) averaged over the ranks.
  void average_buffers(torch::nn::Module& module);

 private:
  std::string lost_contact(const std::exception& e) const;  // the message when a collective fails
  void wait(const c10::intrusive_ptr<c10d::Work>& work) const;
  void all_reduce(torch::Tensor& flat);
  DistributedOptions options_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<torch::Tensor> reduced_;  // what reduce_gradients_of was given
  std::unique_ptr<c10d::Reducer> reducer_;
};

}  // namespace facekit::train
