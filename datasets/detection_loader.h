// Batches for detector training, augmented as Darknet's load_data_detection does it. The geometry
// follows the cfg's resize: with letterbox (pjreddie's src/data.c, and AlexeyAB's letter_box=1) the
// aspect ratio is jittered by up to `jitter` of each side and the image placed at a random position
// on a grey (0.5) canvas of the network size; with stretch (AlexeyAB's default, the way its
// inference resizes) each side of a crop window moves by up to `jitter` of the image side, in or
// out (outside the image: its mean colour), and the window is stretched to the network size
// (AlexeyAB's src/data.c and image_data_augmentation). AlexeyAB's [yolo] `resize` scales the window
// (or the letterboxed image) at random besides: by up to `resize` both ways, or with a value below
// 1, only out to 1/resize, which makes every face smaller (SSD's "zoom out", Liu et al. 2016).
// Then hue/saturation/exposure change (random_distort_image), a horizontal flip with probability
// 1/2, and the boxes move along (correct_boxes / fill_truth_detection: clipped, dropped below 0.001
// of a side). With `mosaic` (AlexeyAB's [net] mosaic=1), each input is four augmented images, one
// per quadrant. Worker threads prepare the next batch; every random draw comes from (seed, epoch,
// position), so runs repeat exactly.
#pragma once

#include <cstdint>
#include <future>
#include <random>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/epoch_order.h"
#include "datasets/detection_data.h"

namespace facekit {

struct DetectionAugmentOptions {
  float jitter = 0.2f;
  float hue = 0.f;         // shift, fraction of the colour circle, uniform in +-hue
  float saturation = 1.f;  // scale in [1/s, s] (rand_scale)
  float exposure = 1.f;
  bool flip = true;
  bool mosaic = false;
  bool letterbox = true;  // false: crop and stretch
  float resize = 1.f;     // AlexeyAB's [yolo] resize; 1: off
  // AlexeyAB's [net] blur=N (load_data_detection, image_data_augmentation): per image, at even
  // odds, nothing; the background blurred by a 17 x 17 Gaussian with the boxes kept sharp; or the
  // whole image blurred by a Gaussian (N / 2) * 2 + 1 wide, narrowed to an eighth of the smallest
  // box side (1: the background blur again, 0: nothing). 0: off.
  int blur = 0;
};

struct DetectionLoaderOptions {
  int batch_size = 16;
  int width = 416, height = 416;
  int threads = 2;
  bool augment = true;
  bool shuffle = true;
  uint64_t seed = 0;
  int rank = 0, world_size = 1;
  size_t rank_slice = 1;  // consecutive positions per rank in turn (datasets/epoch_order)
  DetectionAugmentOptions augment_options;
};

struct DetectionBatch {
  int width = 0, height = 0;
  std::vector<float> pixels;  // n x 3 x height x width, RGB in [0, 1]
  std::vector<std::vector<LabelledBox>> boxes;
  std::vector<std::string> unreadable;
  int size() const { return static_cast<int>(boxes.size()); }
};

// One training image: the network-size input (planar RGB) and its boxes.
std::vector<float> augmented_detection_input(const cv::Mat& bgr, const std::vector<LabelledBox>& boxes, int width, int height,
                                             const DetectionAugmentOptions& options, std::mt19937* rng,
                                             std::vector<LabelledBox>* moved);

// Mosaic (YOLOv4, Bochkovskiy et al. 2020; AlexeyAB's load_data_detection with mosaic=1): a cut
// point drawn in the middle 60 % of each side splits the input into four quadrants; quadrant k
// shows a window of the same size from `inputs[k]` (planar RGB, width x height, as
// augmented_detection_input makes them) at a random place, and its boxes move along, clipped to
// the quadrant and dropped below 0.001 of a side.
std::vector<float> mosaic_detection_input(const std::vector<std::vector<float>>& inputs,
                                          const std::vector<std::vector<LabelledBox>>& boxes, int width, int height,
                                          std::mt19937* rng, std::vector<LabelledBox>* moved);

class DetectionLoader {
 public:
  DetectionLoader(const std::vector<DetectionSample>& samples, DetectionLoaderOptions options);
  ~DetectionLoader();
  void start_epoch(int epoch, int skip_batches = 0);
  bool next(DetectionBatch* batch);
  // Multi-scale training: the next batch and every one after it have this input size (a batch
  // already prepared at another size is prepared again), so a batch's size never depends on timing.
  void set_input_size(int width, int height);
  int batches_per_epoch() const { return static_cast<int>(share_.indices.size()) / options_.batch_size; }

 private:
  DetectionBatch prepare(size_t first, int width, int height) const;
  // One sample's input (mosaic: with three other images drawn from the whole set); empty when its
  // image cannot be decoded.
  std::vector<float> sample_input(size_t position, int width, int height, std::vector<LabelledBox>* boxes) const;
  void prefetch();

  const std::vector<DetectionSample>& samples_;
  DetectionLoaderOptions options_;
  int epoch_ = 0;
  EpochShare share_;  // this rank's part of the epoch
  size_t position_ = 0;
  std::future<DetectionBatch> pending_;
};

}  // namespace facekit
