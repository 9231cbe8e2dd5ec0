#include "datasets/detection_loader.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/batch_workers.h"
#include "datasets/epoch_order.h"

namespace facekit {
namespace {

constexpr float kCanvasGrey = 0.5f;   // fill_image(sized, .5)
constexpr float kMinBoxSide = 0.001f; // fill_truth_detection drops boxes thinner than this
constexpr float kMosaicMargin = 0.2f; // AlexeyAB's min_offset: the cut stays in the middle 60 %
constexpr int kMosaicImages = 4;

float uniform(std::mt19937* rng, float low, float high) {
  return low == high ? low : std::uniform_real_distribution<float>(std::min(low, high), std::max(low, high))(*rng);
}

// Darknet's rand_scale: a factor in [1, s], inverted half of the time.
float random_scale(std::mt19937* rng, float s) {
  const float scale = uniform(rng, 1.f, s);
  return uniform(rng, 0.f, 1.f) < 0.5f ? scale : 1.f / scale;
}

// random_distort_image in HSV: hue shifted around the circle, saturation and value scaled.
void distort_colours(cv::Mat* rgb, const DetectionAugmentOptions& o, std::mt19937* rng) {
  const float hue = uniform(rng, -o.hue, o.hue), saturation = random_scale(rng, o.saturation), exposure = random_scale(rng, o.exposure);
  if (hue == 0 && saturation == 1 && exposure == 1) return;
  cv::Mat hsv;
  cv::cvtColor(*rgb, hsv, cv::COLOR_RGB2HSV);  // float: H in [0, 360), S and V in [0, 1]
  for (int y = 0; y < hsv.rows; ++y) {
    auto* row = hsv.ptr<cv::Vec3f>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      float h = row[x][0] + 360.f * hue;
      row[x][0] = h - 360.f * std::floor(h / 360.f);
      row[x][1] = std::min(1.f, row[x][1] * saturation);
      row[x][2] = std::min(1.f, row[x][2] * exposure);
    }
  }
  cv::cvtColor(hsv, *rgb, cv::COLOR_HSV2RGB);
}

std::vector<float> planar(const cv::Mat& rgb) {
  std::vector<float> out(static_cast<size_t>(3) * rgb.rows * rgb.cols);
  const size_t plane = static_cast<size_t>(rgb.rows) * rgb.cols;
  for (int y = 0; y < rgb.rows; ++y) {
    const auto* row = rgb.ptr<cv::Vec3f>(y);
    for (int x = 0; x < rgb.cols; ++x) {
      for (int k = 0; k < 3; ++k) out[k * plane + static_cast<size_t>(y) * rgb.cols + x] = row[x][k];
    }
  }
  return out;
}

// Where the augmentation puts the image: pixel (x, y) of the original goes to (x * sx + dx,
// y * sy + dy) on the input, in pixels of the input.
struct Placement {
  float sx, sy, dx, dy;
};

// AlexeyAB's [yolo] resize=R in load_data_detection: how far each side of the crop window moves
// besides the jitter, as fractions of the image side. The left and top sides share one draw, the
// right and bottom sides another, so the window grows or shrinks by the same factor both ways:
// from R times the image (each side out by (R - 1) / 2, a zoom out) to 1/R of it (a zoom in);
// below 1 it only zooms out, to 1/R.
struct ResizeShift {
  float left_top = 0, right_bottom = 0;
};

ResizeShift random_resize_shift(float resize, std::mt19937* rng) {
  if (resize == 1.f) return {};
  const float out = (1 - std::max(resize, 1 / resize)) / 2;  // < 0
  const float in = resize < 1 ? 0.f : (1 - 1 / resize) / 2;  // >= 0
  return {uniform(rng, out, in), uniform(rng, out, in)};
}

// The factor by which the resize shift scales a window side: 1 - left_top - right_bottom.
float resize_factor(const ResizeShift& shift) { return 1 - shift.left_top - shift.right_bottom; }

// pjreddie's load_data_detection: a new aspect ratio, the largest such rectangle that fits, placed
// at random on a grey canvas; the resize shift scales it by the inverse of the factor by which it
// scales a crop window.
Placement letterbox_placement(const cv::Mat& bgr, int width, int height, float jitter, float resize, std::mt19937* rng,
                              cv::Mat* canvas) {
  const float dw = jitter * bgr.cols, dh = jitter * bgr.rows;
  const float aspect = (bgr.cols + uniform(rng, -dw, dw)) / (bgr.rows + uniform(rng, -dh, dh));
  float nw = width, nh = height;
  if (aspect < 1) {
    nw = nh * aspect;
  } else {
    nh = nw / aspect;
  }
  const float zoom = 1 / resize_factor(random_resize_shift(resize, rng));
  nw *= zoom;
  nh *= zoom;
  const float dx = uniform(rng, 0, width - nw), dy = uniform(rng, 0, height - nh);
  cv::Mat rgb, placed;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1 / 255.0);
  const int pw = std::max(1, static_cast<int>(std::lround(nw))), ph = std::max(1, static_cast<int>(std::lround(nh)));
  cv::resize(rgb, placed, cv::Size(pw, ph), 0, 0, cv::INTER_LINEAR);
  *canvas = cv::Mat(height, width, CV_32FC3, cv::Scalar::all(kCanvasGrey));
  const cv::Rect target(static_cast<int>(std::lround(dx)), static_cast<int>(std::lround(dy)), pw, ph);
  const cv::Rect inside = target & cv::Rect(0, 0, width, height);
  placed(cv::Rect(inside.tl() - target.tl(), inside.size())).copyTo((*canvas)(inside));
  return {nw / bgr.cols, nh / bgr.rows, dx, dy};
}

// AlexeyAB's load_data_detection without letter_box: a crop window whose every side moves by up
// to jitter of the image side (and by the resize shift), filled with the image's mean colour
// outside it, stretched.
Placement stretch_placement(const cv::Mat& bgr, int width, int height, float jitter, float resize, std::mt19937* rng, cv::Mat* canvas) {
  const float dw = jitter * bgr.cols, dh = jitter * bgr.rows;
  const ResizeShift shift = random_resize_shift(resize, rng);
  const int left = static_cast<int>(uniform(rng, -dw, dw) + shift.left_top * bgr.cols);
  const int right = static_cast<int>(uniform(rng, -dw, dw) + shift.right_bottom * bgr.cols);
  const int top = static_cast<int>(uniform(rng, -dh, dh) + shift.left_top * bgr.rows);
  const int bottom = static_cast<int>(uniform(rng, -dh, dh) + shift.right_bottom * bgr.rows);
  const cv::Rect window(left, top, std::max(1, bgr.cols - left - right), std::max(1, bgr.rows - top - bottom));
  cv::Mat cropped(window.size(), bgr.type(), cv::mean(bgr));
  const cv::Rect inside = window & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (!inside.empty()) bgr(inside).copyTo(cropped(cv::Rect(inside.tl() - window.tl(), inside.size())));
  cv::Mat rgb;
  cv::cvtColor(cropped, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1 / 255.0);
  cv::resize(rgb, *canvas, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  const float sx = static_cast<float>(width) / window.width, sy = static_cast<float>(height) / window.height;
  return {sx, sy, -left * sx, -top * sy};
}

// AlexeyAB's blur (see DetectionAugmentOptions::blur) on the network-size image, whose boxes
// have already moved to where the pixels went.
constexpr int kBackgroundBlur = 1;
constexpr int kBackgroundBlurKernel = 17;

void random_blur(cv::Mat* rgb, const std::vector<LabelledBox>& boxes, int use_blur, std::mt19937* rng) {
  if (use_blur == 0) return;
  const int choice = std::uniform_int_distribution<int>(0, 2)(*rng);  // 0 none, 1 background, 2 whole
  int blur = choice == 0 ? 0 : choice == 1 ? kBackgroundBlur : use_blur;
  // fill_truth_detection's min_w_h: the smallest box side in input pixels, 0 without boxes.
  int smallest_side = 0;
  for (const auto& b : boxes) {
    for (const int side : {static_cast<int>(b.w * rgb->cols), static_cast<int>(b.h * rgb->rows)}) {
      if (smallest_side == 0 || side < smallest_side) smallest_side = side;
    }
  }
  if (blur > 1 && smallest_side / 8 < blur) blur = smallest_side / 8;
  if (blur == 0) return;
  const int kernel = blur == kBackgroundBlur ? kBackgroundBlurKernel : (blur / 2) * 2 + 1;
  cv::Mat blurred;
  cv::GaussianBlur(*rgb, blurred, cv::Size(kernel, kernel), 0);
  if (blur == kBackgroundBlur) {
    const cv::Rect image(0, 0, rgb->cols, rgb->rows);
    for (const auto& b : boxes) {
      const cv::Rect box(static_cast<int>((b.x - b.w / 2) * rgb->cols), static_cast<int>((b.y - b.h / 2) * rgb->rows),
                         static_cast<int>(b.w * rgb->cols), static_cast<int>(b.h * rgb->rows));
      const cv::Rect kept = box & image;
      if (!kept.empty()) (*rgb)(kept).copyTo(blurred(kept));  // a box under a pixel wide keeps nothing
    }
  }
  *rgb = blurred;
}

}  // namespace

std::vector<float> augmented_detection_input(const cv::Mat& bgr, const std::vector<LabelledBox>& boxes, int width, int height,
                                             const DetectionAugmentOptions& o, std::mt19937* rng,
                                             std::vector<LabelledBox>* moved) {
  cv::Mat canvas;
  const Placement p = o.letterbox ? letterbox_placement(bgr, width, height, o.jitter, o.resize, rng, &canvas)
                                  : stretch_placement(bgr, width, height, o.jitter, o.resize, rng, &canvas);
  const bool flip = o.flip && uniform(rng, 0.f, 1.f) < 0.5f;
  distort_colours(&canvas, o, rng);
  if (flip) cv::flip(canvas, canvas, 1);

  moved->clear();
  for (const auto& b : boxes) {  // correct_boxes
    float left = ((b.x - b.w / 2) * bgr.cols * p.sx + p.dx) / width, right = ((b.x + b.w / 2) * bgr.cols * p.sx + p.dx) / width;
    const float top = ((b.y - b.h / 2) * bgr.rows * p.sy + p.dy) / height;
    const float bottom = ((b.y + b.h / 2) * bgr.rows * p.sy + p.dy) / height;
    if (flip) std::tie(left, right) = std::make_pair(1 - right, 1 - left);
    const float l = std::clamp(left, 0.f, 1.f), r = std::clamp(right, 0.f, 1.f);
    const float t = std::clamp(top, 0.f, 1.f), btm = std::clamp(bottom, 0.f, 1.f);
    if (r - l < kMinBoxSide || btm - t < kMinBoxSide) continue;
    moved->push_back({(l + r) / 2, (t + btm) / 2, r - l, btm - t, b.class_id});
  }
  random_blur(&canvas, *moved, o.blur, rng);
  return planar(canvas);
}

std::vector<float> mosaic_detection_input(const std::vector<std::vector<float>>& inputs,
                                          const std::vector<std::vector<LabelledBox>>& boxes, int width, int height,
                                          std::mt19937* rng, std::vector<LabelledBox>* moved) {
  if (inputs.size() != kMosaicImages || boxes.size() != kMosaicImages) throw std::invalid_argument("mosaic: four images");
  const int cut_x = static_cast<int>(std::lround(uniform(rng, kMosaicMargin, 1 - kMosaicMargin) * width));
  const int cut_y = static_cast<int>(std::lround(uniform(rng, kMosaicMargin, 1 - kMosaicMargin) * height));
  const cv::Rect quadrants[kMosaicImages] = {{0, 0, cut_x, cut_y}, {cut_x, 0, width - cut_x, cut_y},
                                             {0, cut_y, cut_x, height - cut_y}, {cut_x, cut_y, width - cut_x, height - cut_y}};
  const size_t plane = static_cast<size_t>(width) * height;
  std::vector<float> out(3 * plane);
  moved->clear();
  for (int k = 0; k < kMosaicImages; ++k) {
    const cv::Rect q = quadrants[k];
    const int sx = static_cast<int>(std::lround(uniform(rng, 0.f, static_cast<float>(width - q.width))));
    const int sy = static_cast<int>(std::lround(uniform(rng, 0.f, static_cast<float>(height - q.height))));
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < q.height; ++y) {
        const float* from = &inputs[k][c * plane + static_cast<size_t>(sy + y) * width + sx];
        std::copy(from, from + q.width, &out[c * plane + static_cast<size_t>(q.y + y) * width + q.x]);
      }
    }
    for (const auto& b : boxes[k]) {  // pixels of the source, moved to the quadrant and clipped to it
      const float l = std::max<float>(q.x, (b.x - b.w / 2) * width - sx + q.x);
      const float r = std::min<float>(q.x + q.width, (b.x + b.w / 2) * width - sx + q.x);
      const float t = std::max<float>(q.y, (b.y - b.h / 2) * height - sy + q.y);
      const float btm = std::min<float>(q.y + q.height, (b.y + b.h / 2) * height - sy + q.y);
      if ((r - l) / width < kMinBoxSide || (btm - t) / height < kMinBoxSide) continue;
      moved->push_back({(l + r) / 2 / width, (t + btm) / 2 / height, (r - l) / width, (btm - t) / height, b.class_id});
    }
  }
  return out;
}

DetectionLoader::DetectionLoader(const std::vector<DetectionSample>& samples, DetectionLoaderOptions options)
    : samples_(samples), options_(std::move(options)) {
  if (options_.batch_size <= 0 || options_.threads <= 0) throw std::invalid_argument("DetectionLoader: batch size and threads must be positive");
  if (options_.world_size <= 0 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw std::invalid_argument("DetectionLoader: rank must be in [0, world size)");
  }
}

DetectionLoader::~DetectionLoader() {
  if (pending_.valid()) pending_.wait();
}

void DetectionLoader::start_epoch(int epoch, int skip_batches) {
  if (pending_.valid()) pending_.wait();
  epoch_ = epoch;
  share_ = epoch_order(samples_.size(), options_.seed, epoch, options_.shuffle, {}, options_.rank,
                       options_.world_size, options_.rank_slice);
  position_ = static_cast<size_t>(skip_batches) * options_.batch_size;
  prefetch();
}

void DetectionLoader::set_input_size(int width, int height) {
  if (width == options_.width && height == options_.height) return;
  options_.width = width;
  options_.height = height;
  if (pending_.valid()) {
    pending_.get();
    prefetch();
  }
}

bool DetectionLoader::next(DetectionBatch* batch) {
  if (!pending_.valid()) return false;
  *batch = pending_.get();
  position_ += options_.batch_size;
  prefetch();
  return true;
}

void DetectionLoader::prefetch() {
  if (position_ + options_.batch_size > share_.indices.size()) return;  // whole batches only
  pending_ = std::async(std::launch::async, [this, first = position_, w = options_.width, h = options_.height] {
    return prepare(first, w, h);
  });
}

std::vector<float> DetectionLoader::sample_input(size_t position, int width, int height, std::vector<LabelledBox>* boxes) const {
  const DetectionSample& sample = samples_[share_.indices[position]];
  const cv::Mat bgr = cv::imread(sample.image, cv::IMREAD_COLOR);
  if (bgr.empty()) return {};
  auto rng = sample_generator(options_.seed, static_cast<uint64_t>(epoch_), share_.positions[position]);
  DetectionAugmentOptions o = options_.augment_options;
  if (!options_.augment) o = {0.f, 0.f, 1.f, 1.f, false, false, o.letterbox};
  if (!o.mosaic) return augmented_detection_input(bgr, sample.boxes, width, height, o, &rng, boxes);
  std::vector<std::vector<float>> inputs(kMosaicImages);
  std::vector<std::vector<LabelledBox>> parts(kMosaicImages);
  inputs[0] = augmented_detection_input(bgr, sample.boxes, width, height, o, &rng, &parts[0]);
  std::uniform_int_distribution<size_t> any(0, samples_.size() - 1);
  for (int k = 1; k < kMosaicImages; ++k) {
    const DetectionSample& other = samples_[any(rng)];
    cv::Mat other_bgr = cv::imread(other.image, cv::IMREAD_COLOR);
    // An undecodable partner is replaced by the sample itself; the sample's own image is what counts.
    const bool usable = !other_bgr.empty();
    inputs[k] = augmented_detection_input(usable ? other_bgr : bgr, usable ? other.boxes : sample.boxes, width, height, o,
                                          &rng, &parts[k]);
  }
  return mosaic_detection_input(inputs, parts, width, height, &rng, boxes);
}

DetectionBatch DetectionLoader::prepare(size_t first, int width, int height) const {
  const size_t count = options_.batch_size, plane = static_cast<size_t>(3) * width * height;
  std::vector<std::vector<float>> inputs(count);
  std::vector<std::vector<LabelledBox>> boxes(count);
  prepare_in_threads(
      count, options_.threads, [&](size_t i) { inputs[i] = sample_input(first + i, width, height, &boxes[i]); },
      [&](size_t i) { return samples_[share_.indices[first + i]].image + ": augmentation failed"; });
  DetectionBatch batch;
  batch.width = width;
  batch.height = height;
  batch.pixels.reserve(count * plane);
  for (size_t i = 0; i < count; ++i) {
    if (inputs[i].empty()) {  // unreadable
      batch.unreadable.push_back(samples_[share_.indices[first + i]].image);
      continue;
    }
    batch.pixels.insert(batch.pixels.end(), inputs[i].begin(), inputs[i].end());
    batch.boxes.push_back(std::move(boxes[i]));
  }
  return batch;
}

}  // namespace facekit
