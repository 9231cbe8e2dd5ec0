// Batches of classifier inputs from a FaceSample list: shuffled (or weighted) per epoch from a
// seed, sharded across distributed ranks like PyTorch's DistributedSampler, decoded, cropped with
// the shared face_crop (augmented for training) and normalised by worker threads while the model
// works on the previous batch.
//
// Determinism: the epoch order comes from (seed, epoch); each sample's augmentation from (seed,
// epoch, position), so results do not depend on the thread count or on timing.
#pragma once

#include <cstdint>
#include <future>
#include <vector>

#include "datasets/epoch_order.h"
#include "datasets/face_augment.h"
#include "datasets/formats/face_labels.h"
#include "datasets/preprocess.h"

namespace facekit {

struct FaceLoaderOptions {
  int batch_size = 32;
  int threads = 2;
  bool shuffle = true;
  bool augment = false;
  bool drop_last = false;
  uint64_t seed = 0;
  std::vector<double> sample_weights;  // non-empty: draw the epoch with replacement by weight
  int rank = 0, world_size = 1;
  size_t rank_slice = 1;               // consecutive positions per rank in turn (datasets/epoch_order)
  FaceCropOptions crop;
  // Evaluation's test-time views: each face cropped once per zoom (`zoomed(crop, zoom)`), its crops
  // consecutive in the batch. Not with `augment`.
  std::vector<float> zooms = {1.0f};
  Normalisation normalisation;
  FaceAugmentOptions augment_options;
};

struct FaceBatch {
  std::vector<float> pixels;           // n x zooms x 3 x crop.size x crop.size
  std::vector<const FaceSample*> samples;
  std::vector<std::string> unreadable;  // images that failed to decode (left out of the batch)
  int size() const { return static_cast<int>(samples.size()); }
};

// The evaluation input of one face (no augmentation): what inference computes too.
void append_face_input(const cv::Mat& bgr, const FaceSample& sample, const FaceCropOptions& crop,
                       const Normalisation& normalisation, std::vector<float>* out);

class FaceLoader {
 public:
  FaceLoader(const std::vector<FaceSample>& samples, FaceLoaderOptions options);
  ~FaceLoader();

  // `skip_batches`: resume inside an epoch (the order is the same, the skipped batches are not read).
  void start_epoch(int epoch, int skip_batches = 0);
  // The next batch of this epoch; false when the epoch is done.
  bool next(FaceBatch* batch);
  int batches_per_epoch() const;
  int samples_per_epoch() const { return static_cast<int>(share_.indices.size()); }

 private:
  FaceBatch prepare(size_t first) const;
  void prefetch(size_t first);

  const std::vector<FaceSample>& samples_;
  FaceLoaderOptions options_;
  int epoch_ = 0;
  EpochShare share_;  // this rank's part of the epoch
  size_t position_ = 0;
  std::future<FaceBatch> pending_;
};

}  // namespace facekit
