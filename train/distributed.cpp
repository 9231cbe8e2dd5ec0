#include "train/distributed.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

namespace facekit::train {
namespace {

// PyTorch DDP's defaults: buffers averaged in 25 MB buckets; gradients in a first bucket of 1 MB
// (so that even a small net's all-reduce starts before its backward ends), then 25 MB ones.
constexpr int64_t kBucketBytes = 25 << 20;
constexpr int64_t kFirstBucketBytes = 1 << 20;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

int to_int(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(what + ": expected an integer, found '" + text + "'");
}

// "tcp://host:port" -> host, port.
void parse_dist_url(const std::string& url, DistributedOptions* o) {
  const std::string prefix = "tcp://";
  const auto colon = url.rfind(':');
  if (url.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size()) {
    throw std::invalid_argument("--dist-url: expected tcp://HOST:PORT, found '" + url + "'");
  }
  o->master_addr = url.substr(prefix.size(), colon - prefix.size());
  o->master_port = to_int(url.substr(colon + 1), "--dist-url port");
}

// One all-reduce per bucket of consecutive tensors: few large messages instead of many small ones.
template <typename Reduce>
void for_each_bucket(const std::vector<torch::Tensor>& tensors, Reduce reduce) {
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  const auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<torch::Tensor> flat_parts;
    for (const auto& t : bucket) flat_parts.push_back(t.reshape(-1));
    torch::Tensor flat = torch::cat(flat_parts);
    reduce(flat);
    int64_t offset = 0;
    for (auto& t : bucket) {
      t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
    bucket.clear();
    bytes = 0;
  };
  for (const auto& t : tensors) {
    bucket.push_back(t);
    bytes += t.numel() * static_cast<int64_t>(t.element_size());
    if (bytes >= kBucketBytes) flush();
  }
  flush();
}

}  // namespace

DistributedOptions distributed_options(const std::string& dist_url, int rank, int world_size) {
  DistributedOptions o;
  const std::string env_rank = !env("RANK").empty() ? env("RANK") : env("SLURM_PROCID");
  const std::string env_world = !env("WORLD_SIZE").empty() ? env("WORLD_SIZE") : env("SLURM_NTASKS");
  if (!env_rank.empty()) o.rank = to_int(env_rank, "RANK");
  if (!env_world.empty()) o.world_size = to_int(env_world, "WORLD_SIZE");
  if (!env("MASTER_ADDR").empty()) o.master_addr = env("MASTER_ADDR");
  if (!env("MASTER_PORT").empty()) o.master_port = to_int(env("MASTER_PORT"), "MASTER_PORT");
  if (!dist_url.empty()) parse_dist_url(dist_url, &o);
  if (rank >= 0) o.rank = rank;
  if (world_size >= 0) o.world_size = world_size;
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    throw std::invalid_argument("distributed: rank " + std::to_string(o.rank) + " is not in [0, world size " +
                                std::to_string(o.world_size) + ")");
  }
  if (o.master_port <= 0 || o.master_port > 65535) throw std::invalid_argument("distributed: port out of range");
  return o;
}

DataParallel::DataParallel(const DistributedOptions& options) : options_(options) {
  if (!active()) return;
  if (options.backend != "gloo") {
    throw std::invalid_argument("distributed backend '" + options.backend +
                                "': this LibTorch build has gloo only (nccl needs a CUDA build of LibTorch)");
  }
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(options.master_port);
  store_options.isServer = options.rank == 0;
  store_options.numWorkers = options.world_size;
  store_options.timeout = options.timeout;
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed: rank " + std::to_string(options.rank) + " cannot meet the others at " +
                             options.master_addr + ":" + std::to_string(options.master_port) + " within " +
                             std::to_string(options.timeout.count()) + " s: " + first_line(e.what()));
  }
  auto gloo = c10d::ProcessGroupGloo::Options::create();
  gloo->timeout = options.timeout;
  gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank, options.world_size, gloo);
}

DataParallel::~DataParallel() = default;

// A collective that fails (a rank died, or stayed silent past the timeout) ends this rank too,
// with a message saying so; checkpoints are only ever renamed into place, so the last one holds.
std::string DataParallel::lost_contact(const std::exception& e) const {
  return "distributed: rank " + std::to_string(options_.rank) +
         " lost contact with the other ranks (one died or stopped answering for " +
         std::to_string(options_.timeout.count()) + " s): " + first_line(e.what()) +
         "; stopping. The last complete checkpoint is intact: continue with --resume.";
}

void DataParallel::wait(const c10::intrusive_ptr<c10d::Work>& work) const {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error(lost_contact(e));
  }
}

void DataParallel::all_reduce(torch::Tensor& flat) {
  std::vector<torch::Tensor> tensors = {flat};
  wait(group_->allreduce(tensors));
}

void DataParallel::broadcast(torch::nn::Module& module) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p.data());
  for (auto& b : module.buffers()) tensors.push_back(b);
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one = {t};
    wait(group_->broadcast(one));  // BroadcastOptions: root rank 0
  }
}

void DataParallel::reduce_gradients_of(const std::vector<torch::Tensor>& parameters) {
  if (!active()) return;
  reduced_.clear();
  for (const auto& p : parameters) {
    if (p.requires_grad()) reduced_.push_back(p);
  }
  if (reduced_.empty()) return;  // everything frozen: nothing to average
  // As DistributedDataParallel does: buckets in parameter order, then reversed, since backward
  // produces the last layers' gradients first. find_unused_parameters: a parameter the loss does not
  // reach (a frozen backbone, a head without labels in a batch) counts as ready instead of stalling.
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      reduced_, {static_cast<size_t>(kFirstBucketBytes), static_cast<size_t>(kBucketBytes)});
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  reducer_ = std::make_unique<c10d::Reducer>(reduced_, std::move(buckets), std::move(limits), group_,
                                             std::vector<bool>(reduced_.size(), false), kBucketBytes,
                                             /*find_unused_parameters=*/true, /*gradient_as_bucket_view=*/false,
                                             std::unordered_map<size_t, std::string>(), kFirstBucketBytes);
}

void DataParallel::backward(const torch::Tensor& loss, bool sync) {
  if (!sync || !reducer_) {
    if (loss.defined()) loss.backward();
    return;
  }
  torch::Tensor synced = loss;
  if (!synced.defined()) {  // zero gradients for every parameter: the others' all-reduces need ours
    synced = torch::zeros({}, reduced_.front().options());
    for (const auto& p : reduced_) {
      if (p.requires_grad()) synced = synced + p.reshape(-1)[0] * 0;
    }
  }
  reducer_->prepare_for_backward({synced});
  try {
    synced.backward();
  } catch (const std::exception& e) {
    throw std::runtime_error(lost_contact(e));
  }
}

void DataParallel::sum(torch::Tensor& values) {
  if (active()) all_reduce(values);
}

bool DataParallel::all_true(bool value) {
  auto failed = torch::tensor({value ? 0.0 : 1.0}, torch::kDouble);
  sum(failed);
  return failed.item<double>() == 0;
}

void DataParallel::average_buffers(torch::nn::Module& module) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> floats;
  for (auto& b : module.buffers()) {
    if (b.is_floating_point()) floats.push_back(b);  // num_batches_tracked stays rank 0's count
  }
  const double scale = 1.0 / options_.world_size;
  for_each_bucket(floats, [&](torch::Tensor& flat) {
    all_reduce(flat);
    flat.mul_(scale);
  });
}

}  // namespace facekit::train
