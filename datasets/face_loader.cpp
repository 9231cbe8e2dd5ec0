#include "datasets/face_loader.h"

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>

#include "datasets/batch_workers.h"
#include "datasets/epoch_order.h"

namespace facekit {
namespace {

// The whole image when the dataset gives no box (aligned crops such as UTKFace).
Box face_box(const cv::Mat& bgr, const FaceSample& sample) {
  return sample.face ? *sample.face : Box{0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows)};
}

}  // namespace

void append_face_input(const cv::Mat& bgr, const FaceSample& sample, const FaceCropOptions& crop,
                       const Normalisation& normalisation, std::vector<float>* out) {
  append_normalised_chw(face_crop(bgr, face_box(bgr, sample), crop), normalisation, out);
}

FaceLoader::FaceLoader(const std::vector<FaceSample>& samples, FaceLoaderOptions options)
    : samples_(samples), options_(std::move(options)) {
  if (options_.batch_size <= 0 || options_.threads <= 0) throw std::invalid_argument("FaceLoader: batch size and threads must be positive");
  if (options_.world_size <= 0 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw std::invalid_argument("FaceLoader: rank must be in [0, world size)");
  }
  if (!options_.sample_weights.empty() && options_.sample_weights.size() != samples_.size()) {
    throw std::invalid_argument("FaceLoader: one weight per sample");
  }
  if (options_.zooms.empty() || (options_.augment && options_.zooms != std::vector<float>{1.0f})) {
    throw std::invalid_argument("FaceLoader: zoomed views are for evaluation: at least one, and only zoom 1 with augment");
  }
}

FaceLoader::~FaceLoader() {
  if (pending_.valid()) pending_.wait();
}

void FaceLoader::start_epoch(int epoch, int skip_batches) {
  if (pending_.valid()) pending_.wait();
  epoch_ = epoch;
  share_ = epoch_order(samples_.size(), options_.seed, epoch, options_.shuffle, options_.sample_weights, options_.rank,
                       options_.world_size, options_.rank_slice);
  position_ = static_cast<size_t>(skip_batches) * options_.batch_size;
  prefetch(position_);
}

int FaceLoader::batches_per_epoch() const {
  const size_t b = options_.batch_size;
  return static_cast<int>(options_.drop_last ? share_.indices.size() / b : (share_.indices.size() + b - 1) / b);
}

bool FaceLoader::next(FaceBatch* batch) {
  if (!pending_.valid()) return false;
  *batch = pending_.get();
  position_ += options_.batch_size;
  prefetch(position_);
  return true;
}

void FaceLoader::prefetch(size_t first) {
  const size_t remaining = first < share_.indices.size() ? share_.indices.size() - first : 0;
  if (remaining == 0 || (options_.drop_last && remaining < static_cast<size_t>(options_.batch_size))) return;
  pending_ = std::async(std::launch::async, [this, first] { return prepare(first); });
}

FaceBatch FaceLoader::prepare(size_t first) const {
  const size_t count = std::min<size_t>(options_.batch_size, share_.indices.size() - first);
  const size_t side = options_.crop.size, plane = 3 * side * side * options_.zooms.size();
  std::vector<std::vector<float>> inputs(count);  // stays empty where the image cannot be read
  prepare_in_threads(
      count, options_.threads,
      [&](size_t i) {
        const FaceSample& sample = samples_[share_.indices[first + i]];
        const cv::Mat bgr = cv::imread(sample.image, cv::IMREAD_COLOR);
        if (bgr.empty()) return;
        inputs[i].reserve(plane);
        if (options_.augment) {
          auto rng = sample_generator(options_.seed, static_cast<uint64_t>(epoch_), share_.positions[first + i]);
          append_normalised_chw(augmented_face_crop(bgr, face_box(bgr, sample), options_.crop, options_.augment_options, &rng),
                                options_.normalisation, &inputs[i]);
        } else {
          for (float zoom : options_.zooms) {
            append_face_input(bgr, sample, zoomed(options_.crop, zoom), options_.normalisation, &inputs[i]);
          }
        }
      },
      [&](size_t i) { return samples_[share_.indices[first + i]].image + ": face crop failed"; });

  FaceBatch batch;
  batch.pixels.reserve(count * plane);
  for (size_t i = 0; i < count; ++i) {
    const FaceSample& sample = samples_[share_.indices[first + i]];
    if (inputs[i].empty()) {
      batch.unreadable.push_back(sample.image);
      continue;
    }
    batch.pixels.insert(batch.pixels.end(), inputs[i].begin(), inputs[i].end());
    batch.samples.push_back(&sample);
  }
  return batch;
}

}  // namespace facekit
