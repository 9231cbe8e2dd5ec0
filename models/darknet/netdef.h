// A Darknet network as data: one LayerDef per cfg section after [net], with the shapes
// Darknet computes at load time. No tensors here; DarknetNet (darknet_net.h) builds the
// LibTorch module from this, the weights reader uses it to count floats.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "models/darknet/cfg.h"

namespace facekit::darknet {

// Which Darknet a cfg is read as. They differ in BatchNorm inference (pjreddie's
// normalize_cpu divides by sqrt(var) + 1e-6, AlexeyAB's by sqrt(var + 1e-5)), in the default
// resize (pjreddie letterboxes, AlexeyAB stretches unless [net] letter_box=1) and in the keys
// each one reads (scale_x_y, new_coords, route groups, mish... exist only in AlexeyAB's).
enum class Dialect { kPjreddie, kAlexeyAB };
const char* dialect_name(Dialect dialect);
Dialect parse_dialect(const std::string& name);  // "pjreddie" | "alexeyab"

enum class Activation {
  kLinear, kLeaky, kRelu, kRelu6, kLogistic, kTanh, kElu, kSelu, kMish, kSwish, kHardMish, kGelu,
  kRamp, kRelie, kLoggy, kPlse, kHardtan, kLhtan,
};
const char* activation_name(Activation activation);

enum class LayerType {
  kConvolutional, kConnected, kMaxpool, kAvgpool, kRoute, kShortcut, kUpsample, kReorg, kYolo,
  kRegion, kDropout, kSoftmax, kBatchnorm, kSam, kScaleChannels, kCost,
};
const char* layer_type_name(LayerType type);

// The box term of a [yolo] head's training loss (AlexeyAB's `iou_loss`): Darknet's squared error
// on the raw outputs, or one minus an IoU kind of the decoded box (train/box_iou_loss.h).
enum class IouLoss { kMse, kIou, kGiou, kDiou, kCiou };
const char* iou_loss_name(IouLoss loss);

struct Shape {
  int c = 0, h = 0, w = 0;
  long long size() const { return static_cast<long long>(c) * h * w; }
};

// Everything a layer needs, Darknet-layer-struct style: a field is meaningful only for the
// layer types named in its comment.
struct LayerDef {
  LayerType type = LayerType::kConvolutional;
  int index = 0;       // 0-based layer index, as Darknet prints it
  std::string where;   // "FILE:LINE: [section]" for messages
  Shape in, out;
  Activation activation = Activation::kLinear;

  // convolutional, connected (filters = outputs)
  int filters = 0;
  bool batch_normalize = false;
  // convolutional, maxpool
  int size = 1, stride_x = 1, stride_y = 1, padding = 0, groups = 1, dilation = 1;
  // route (inputs and channel groups), shortcut, sam, scale_channels (inputs[0] = from):
  // absolute layer indices
  std::vector<int> inputs;
  int group_id = 0;
  // shortcut: out = alpha * previous + beta * from; upsample: scale
  float alpha = 1.f, beta = 1.f, scale = 1.f;
  // upsample, reorg: stride; reverse = downsample (upsample with negative stride) or reorg back
  int stride = 1;
  bool reverse = false;
  // scale_channels: scale_wh multiplies per position instead of per channel
  bool scale_wh = false;
  // yolo, region
  int classes = 0, num = 0, coords = 4;
  std::vector<int> mask;
  std::vector<float> anchors;
  float scale_x_y = 1.f;
  bool new_coords = false;
  bool softmax = false, background = false;  // region
  // yolo, region: training (defaults of Darknet's parse_yolo / parse_region)
  int max_boxes = 90;                          // `max`: truth boxes per image (region: 30)
  float jitter = 0.2f;
  float resize = 1.f;                          // AlexeyAB: random zoom of the crop window (datasets/detection_loader.h)
  bool random = false;                         // multi-scale training
  float ignore_thresh = 0.5f, truth_thresh = 1.f;  // yolo
  // yolo, AlexeyAB's loss keys (its parse_yolo defaults; pjreddie's loss is mse with every
  // normaliser 1 and no iou_thresh): the box, objectness and class deltas are scaled by the
  // normalisers; iou_thresh also trains every anchor of the head whose shape has IoU above it
  // with the truth, not only the best one.
  IouLoss iou_loss = IouLoss::kMse;
  float iou_normalizer = 1.f, obj_normalizer = 1.f, cls_normalizer = 1.f;
  float iou_thresh = 1.f;                      // 1: off
  float max_delta = std::numeric_limits<float>::max();  // clip of the IoU-loss box deltas
  float thresh = 0.5f;                         // region: the ignore threshold
  float coord_scale = 1, object_scale = 1, noobject_scale = 1, class_scale = 1;  // region
  bool rescore = false, bias_match = false, absolute = false;                 // region
  // softmax
  float temperature = 1.f;
  // dropout
  float probability = 0.5f;

  // Number of float32 values this layer reads from a .weights file.
  long long num_weight_floats() const;
};

struct NetDef {
  std::string cfg_path;
  Dialect dialect = Dialect::kPjreddie;
  int width = 0, height = 0, channels = 0;
  bool letterbox = true;  // how images are resized to the input (see datasets/preprocess.h)
  std::vector<LayerDef> layers;
  std::vector<std::string> warnings;  // unread keys and repeated keys, once each

  long long num_weight_floats() const;
  // The layer whose output is the network's: the last one that is not a [cost] layer
  // (get_network_output in Darknet skips them; their output is only written in training).
  int output_layer() const;
  // The net also runs at any input whose sides are multiples of this (the deepest downsampling, 32
  // for the YOLO cfgs), as after Darknet's resize_network in multi-scale training; 0 when only the
  // cfg's size fits (a [connected] layer, or a downsampling that does not divide the input).
  int input_multiple() const;
  // The table Darknet prints at load time: index, type, filters, size/stride, in -> out.
  std::string summary() const;
};

// Chooses the dialect for a cfg when the user did not: AlexeyAB when the cfg uses a key or
// section only AlexeyAB's Darknet reads, or when the weights header says revision >= 5
// (AlexeyAB writes 0.2.5, pjreddie 0.2.0); otherwise pjreddie. `reason` says which rule fired.
Dialect detect_dialect(const CfgFile& cfg, int weights_revision, std::string* reason);

// Builds the NetDef. Unknown sections, malformed values and impossible shapes throw with the
// file and line; keys no layer reads become warnings.
NetDef build_netdef(const CfgFile& cfg, Dialect dialect);

// Overrides the [net] input size (0 keeps the cfg's), for tests and --input-size.
void set_input_size(CfgFile* cfg, int width, int height);

}  // namespace facekit::darknet
