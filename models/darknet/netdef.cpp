#include "models/darknet/netdef.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace facekit::darknet {
namespace {

// Refuse absurd sizes before anything is allocated (a cfg from a forum can say anything).
constexpr long long kMaxLayerElements = 1LL << 31;
constexpr int kMaxInputSide = 16384;

struct NameTable {
  const char* name;
  int value;
};

constexpr NameTable kActivations[] = {
    {"linear", int(Activation::kLinear)},     {"leaky", int(Activation::kLeaky)},
    {"relu", int(Activation::kRelu)},         {"relu6", int(Activation::kRelu6)},
    {"logistic", int(Activation::kLogistic)}, {"tanh", int(Activation::kTanh)},
    {"elu", int(Activation::kElu)},           {"selu", int(Activation::kSelu)},
    {"mish", int(Activation::kMish)},         {"swish", int(Activation::kSwish)},
    {"hard_mish", int(Activation::kHardMish)}, {"gelu", int(Activation::kGelu)},
    {"ramp", int(Activation::kRamp)},         {"relie", int(Activation::kRelie)},
    {"loggy", int(Activation::kLoggy)},       {"plse", int(Activation::kPlse)},
    {"hardtan", int(Activation::kHardtan)},   {"lhtan", int(Activation::kLhtan)},
};

// Activations that pjreddie's Darknet does not have (src/activations.c of 2018).
const std::set<Activation> kAlexeyABActivations = {Activation::kRelu6, Activation::kMish,
                                                  Activation::kSwish, Activation::kHardMish,
                                                  Activation::kGelu};

constexpr NameTable kLayerTypes[] = {
    {"convolutional", int(LayerType::kConvolutional)}, {"connected", int(LayerType::kConnected)},
    {"maxpool", int(LayerType::kMaxpool)},             {"avgpool", int(LayerType::kAvgpool)},
    {"route", int(LayerType::kRoute)},                 {"shortcut", int(LayerType::kShortcut)},
    {"upsample", int(LayerType::kUpsample)},           {"reorg", int(LayerType::kReorg)},
    {"yolo", int(LayerType::kYolo)},                   {"region", int(LayerType::kRegion)},
    {"dropout", int(LayerType::kDropout)},             {"softmax", int(LayerType::kSoftmax)},
    {"batchnorm", int(LayerType::kBatchnorm)},         {"sam", int(LayerType::kSam)},
    {"scale_channels", int(LayerType::kScaleChannels)}, {"cost", int(LayerType::kCost)},
};

// Keys whose presence marks an AlexeyAB cfg (they do nothing in pjreddie's Darknet).
const std::set<std::string> kAlexeyABKeys = {
    "scale_x_y", "new_coords", "iou_normalizer", "cls_normalizer", "obj_normalizer", "iou_loss",
    "iou_thresh", "nms_kind", "beta_nms", "max_delta", "stride_x", "stride_y", "dilation",
    "letter_box", "group_id", "weights_type", "weights_normalization", "mosaic", "track_history_size",
    "resize",
};
const std::set<std::string> kAlexeyABSections = {"sam", "scale_channels"};

// Sections Darknet knows that facekit refuses, with the reason given to the user.
const std::map<std::string, std::string> kRefusedSections = {
    {"local", "locally connected layers are not supported"},
    {"detection", "YOLOv1 [detection] layers are not supported"},
    {"rnn", "recurrent layers are not supported"},
    {"gru", "recurrent layers are not supported"},
    {"lstm", "recurrent layers are not supported"},
    {"crnn", "recurrent layers are not supported"},
    {"conv_lstm", "recurrent layers are not supported"},
    {"crop", "[crop] (a training-time random crop) is not supported"},
    {"deconvolutional", "deconvolutional layers are not supported"},
    {"normalization", "local response normalization is not supported"},
    {"gaussian_yolo", "[Gaussian_yolo] is not supported"},
    {"contrastive", "[contrastive] is not supported"},
    {"implicit_add", "implicit layers are not supported"},
    {"implicit_mul", "implicit layers are not supported"},
    {"reorg3d", "[reorg3d] is not supported"},
};

// Darknet's own short names for sections (string_to_layer_type in src/parser.c).
const std::map<std::string, std::string> kSectionAliases = {
    {"conv", "convolutional"}, {"conn", "connected"}, {"max", "maxpool"}, {"avg", "avgpool"},
    {"soft", "softmax"},       {"bn", "batchnorm"},   {"network", "net"}, {"lrn", "normalization"},
    {"deconv", "deconvolutional"},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string canonical_section(const std::string& type) {
  const std::string name = lower(type);
  const auto alias = kSectionAliases.find(name);
  return alias == kSectionAliases.end() ? name : alias->second;
}

[[noreturn]] void fail(const CfgSection& section, const std::string& message) {
  throw std::runtime_error(section.where() + ": " + message);
}

// What one layer parser sees: its section, the dialect and every layer defined before it.
struct ParseContext {
  const CfgSection& section;
  Dialect dialect;
  const std::vector<LayerDef>& previous;
  Shape input;  // output of the previous layer, or the network input
  int index;
};

Activation read_activation(const ParseContext& ctx, const std::string& fallback) {
  const std::string name = ctx.section.get_string("activation", fallback);
  for (const auto& entry : kActivations) {
    if (name == entry.name) {
      const auto activation = static_cast<Activation>(entry.value);
      if (ctx.dialect == Dialect::kPjreddie && kAlexeyABActivations.count(activation)) {
        throw std::runtime_error(ctx.section.where("activation") + ": '" + name +
                                 "' exists only in AlexeyAB's Darknet; use --dialect alexeyab");
      }
      return activation;
    }
  }
  throw std::runtime_error(ctx.section.where("activation") + ": unknown activation '" + name + "'");
}

// Darknet's relative (negative) or absolute layer index, checked against what exists.
int resolve_index(const ParseContext& ctx, const std::string& key, int value) {
  const int absolute = value < 0 ? ctx.index + value : value;
  if (absolute < 0 || absolute >= ctx.index) {
    throw std::runtime_error(ctx.section.where(key) + ": layer " + std::to_string(value) +
                             " does not exist before layer " + std::to_string(ctx.index));
  }
  return absolute;
}

void refuse_if_set(const ParseContext& ctx, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (ctx.section.get_int(key, 0) != 0) {
      throw std::runtime_error(ctx.section.where(key) + ": '" + key + "' is not supported");
    }
  }
}

void check_positive(const ParseContext& ctx, const std::string& what, long long value) {
  if (value <= 0) fail(ctx.section, what + " must be positive, got " + std::to_string(value));
}

// A layer's output shape, computed in 64 bits from the cfg's ints (whose sums and products need
// not fit an int), refused at the layer's line unless every side is positive and the whole holds at
// most kMaxLayerElements values.
Shape checked_shape(const ParseContext& ctx, int64_t c, int64_t h, int64_t w) {
  if (c <= 0 || h <= 0 || w <= 0) {
    fail(ctx.section, "output would be " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c) +
                          ": the input is too small for this layer");
  }
  // Each product is of two numbers of at most 2^31, so none overflows.
  if (c > kMaxLayerElements || h > kMaxLayerElements || w > kMaxLayerElements || c * h > kMaxLayerElements ||
      c * h * w > kMaxLayerElements || std::max({c, h, w}) > std::numeric_limits<int>::max()) {
    fail(ctx.section, "absurd size: output " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c));
  }
  return {static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)};
}

// Darknet computes an output side as (padded - kernel) / stride + 1, which is 1, not an error, when
// the kernel is larger than the padded input (C's division truncates -14 / 21 to 0); LibTorch
// refuses such a convolution or pooling, so the cfg is refused here, at its line.
void check_kernel_fits(const ParseContext& ctx, int64_t padded_h, int64_t padded_w, int64_t kernel) {
  if (kernel > padded_h || kernel > padded_w) {
    fail(ctx.section, "size " + std::to_string(kernel) + " is larger than the padded input " + std::to_string(padded_h) +
                          "x" + std::to_string(padded_w));
  }
}

// --- one small function per layer type (cf. parse_convolutional & co. in src/parser.c) ---

LayerDef parse_convolutional(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  l.filters = s.get_int("filters", 1);
  l.size = s.get_int("size", 1);
  const int stride = s.get_int("stride", 1);
  l.stride_x = l.stride_y = stride;
  if (ctx.dialect == Dialect::kAlexeyAB) {
    l.stride_x = s.get_int("stride_x", stride);
    l.stride_y = s.get_int("stride_y", stride);
    l.dilation = l.size == 1 ? 1 : s.get_int("dilation", 1);
  }
  const bool pad = s.get_int("pad", 0) != 0;
  l.padding = pad ? l.size / 2 : s.get_int("padding", 0);
  l.groups = s.get_int("groups", 1);
  l.batch_normalize = s.get_int("batch_normalize", 0) != 0;
  l.activation = read_activation(ctx, "logistic");
  refuse_if_set(ctx, {"binary", "xnor", "flipped", "antialiasing", "deform", "share_index"});
  check_positive(ctx, "filters", l.filters);
  check_positive(ctx, "size", l.size);
  check_positive(ctx, "stride", std::min(l.stride_x, l.stride_y));
  check_positive(ctx, "groups", l.groups);
  if (ctx.input.c % l.groups != 0 || l.filters % l.groups != 0) {
    fail(s, "groups=" + std::to_string(l.groups) + " must divide the input channels (" +
                std::to_string(ctx.input.c) + ") and filters (" + std::to_string(l.filters) + ")");
  }
  if (l.padding < 0) fail(s, "padding must not be negative");
  check_positive(ctx, "dilation", l.dilation);
  const int64_t extent = int64_t{l.dilation} * (l.size - 1) + 1;
  const int64_t padded_h = ctx.input.h + 2 * int64_t{l.padding}, padded_w = ctx.input.w + 2 * int64_t{l.padding};
  check_kernel_fits(ctx, padded_h, padded_w, extent);
  l.out = checked_shape(ctx, l.filters, (padded_h - extent) / l.stride_y + 1, (padded_w - extent) / l.stride_x + 1);
  return l;
}

LayerDef parse_connected(const ParseContext& ctx) {
  LayerDef l;
  l.filters = ctx.section.get_int("output", 1);
  l.batch_normalize = ctx.section.get_int("batch_normalize", 0) != 0;
  l.activation = read_activation(ctx, "logistic");
  check_positive(ctx, "output", l.filters);
  l.out = {l.filters, 1, 1};
  return l;
}

// Darknet's maxpool pads with -inf: `padding` (default size - 1) in total, padding/2 on the
// top/left, so size=2 stride=1 keeps 13x13 at 13x13 (src/maxpool_layer.c).
LayerDef parse_maxpool(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  const int stride = s.get_int("stride", 1);
  l.stride_x = l.stride_y = stride;
  if (ctx.dialect == Dialect::kAlexeyAB) {
    l.stride_x = s.get_int("stride_x", stride);
    l.stride_y = s.get_int("stride_y", stride);
    refuse_if_set(ctx, {"maxpool_depth", "antialiasing"});
  }
  l.size = s.get_int("size", stride);
  check_positive(ctx, "size", l.size);
  check_positive(ctx, "stride", std::min(l.stride_x, l.stride_y));
  l.padding = s.get_int("padding", l.size - 1);
  if (l.padding < 0) fail(s, "padding must not be negative");
  const int64_t padded_h = ctx.input.h + int64_t{l.padding}, padded_w = ctx.input.w + int64_t{l.padding};
  check_kernel_fits(ctx, padded_h, padded_w, l.size);
  l.out = checked_shape(ctx, ctx.input.c, (padded_h - l.size) / l.stride_y + 1, (padded_w - l.size) / l.stride_x + 1);
  return l;
}

LayerDef parse_avgpool(const ParseContext& ctx) {
  LayerDef l;
  l.out = {ctx.input.c, 1, 1};
  return l;
}

LayerDef parse_route(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  const auto layers = s.get_ints("layers");
  if (layers.empty()) fail(s, "route needs 'layers'");
  if (ctx.dialect == Dialect::kAlexeyAB) {
    l.groups = s.get_int("groups", 1);
    l.group_id = s.get_int("group_id", 0);
    check_positive(ctx, "groups", l.groups);
    if (l.group_id < 0 || l.group_id >= l.groups) fail(s, "group_id must be in [0, groups)");
  }
  Shape first;
  int64_t channels = 0;
  for (const int value : layers) {
    const int from = resolve_index(ctx, "layers", value);
    const Shape shape = ctx.previous[from].out;
    if (l.inputs.empty()) first = shape;
    if (shape.h != first.h || shape.w != first.w) {
      fail(s, "layer " + std::to_string(from) + " is " + std::to_string(shape.w) + "x" +
                  std::to_string(shape.h) + " but layer " + std::to_string(l.inputs.empty() ? from : l.inputs[0]) +
                  " is " + std::to_string(first.w) + "x" + std::to_string(first.h));
    }
    if (shape.c % l.groups != 0) fail(s, "groups must divide the channels of every input");
    channels += shape.c / l.groups;
    l.inputs.push_back(from);
  }
  l.out = checked_shape(ctx, channels, first.h, first.w);
  return l;
}

LayerDef parse_shortcut(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  const auto from = s.get_ints("from");
  if (from.size() != 1) fail(s, "shortcut needs exactly one 'from' layer");
  l.inputs = {resolve_index(ctx, "from", from[0])};
  l.activation = read_activation(ctx, "linear");
  l.alpha = s.get_float("alpha", 1.f);
  l.beta = s.get_float("beta", 1.f);
  if (ctx.dialect == Dialect::kAlexeyAB && s.get_string("weights_type", "none") != "none") {
    throw std::runtime_error(s.where("weights_type") + ": weighted shortcuts are not supported");
  }
  // shortcut_cpu samples the larger map at a whole stride; the ratio must be the same both ways.
  const Shape other = ctx.previous[l.inputs[0]].out;
  const auto ratio_fits = [](int a, int b, int c, int d) {
    return (a >= b ? a % b == 0 && c % d == 0 && a / b == c / d : b % a == 0 && d % c == 0 && b / a == d / c);
  };
  if (!ratio_fits(other.w, ctx.input.w, other.h, ctx.input.h)) {
    fail(s, "shortcut from " + std::to_string(other.w) + "x" + std::to_string(other.h) + " onto " +
                std::to_string(ctx.input.w) + "x" + std::to_string(ctx.input.h) +
                ": the sizes must differ by the same whole factor in both directions");
  }
  l.out = ctx.input;
  return l;
}

LayerDef parse_upsample(const ParseContext& ctx) {
  LayerDef l;
  const int64_t stride = ctx.section.get_int("stride", 2);
  if (stride == 0) fail(ctx.section, "stride must not be 0");
  const int64_t factor = std::abs(stride);  // in 64 bits: -2^31 has no int magnitude
  l.reverse = stride < 0;
  l.scale = ctx.section.get_float("scale", 1.f);
  l.out = l.reverse ? checked_shape(ctx, ctx.input.c, ctx.input.h / factor, ctx.input.w / factor)
                    : checked_shape(ctx, ctx.input.c, ctx.input.h * factor, ctx.input.w * factor);
  l.stride = static_cast<int>(factor);  // at most an output or input side: an int
  return l;
}

LayerDef parse_reorg(const ParseContext& ctx) {
  LayerDef l;
  l.stride = ctx.section.get_int("stride", 1);
  l.reverse = ctx.section.get_int("reverse", 0) != 0;
  refuse_if_set(ctx, {"flatten", "extra"});
  check_positive(ctx, "stride", l.stride);
  const int64_t stride = l.stride, s2 = stride * stride;
  if (l.reverse) {
    if (ctx.input.c % s2 != 0) fail(ctx.section, "channels must be divisible by stride^2");
    l.out = checked_shape(ctx, ctx.input.c / s2, ctx.input.h * stride, ctx.input.w * stride);
  } else {
    if (ctx.input.h % stride || ctx.input.w % stride) {
      fail(ctx.section, "input size must be divisible by the stride");
    }
    l.out = checked_shape(ctx, ctx.input.c * s2, ctx.input.h / stride, ctx.input.w / stride);
  }
  return l;
}

// A [yolo] or [region] head reads the output of the layer before it (the loss, the ONNX export and
// the dumps all take it from there); as the first layer it would read the image itself.
// In 64 bits: a cfg's counts are any int, and their product must not overflow.
void check_head_channels(const ParseContext& ctx, int64_t anchors, int64_t per_anchor) {
  if (ctx.index == 0) fail(ctx.section, "a detection head cannot be the first layer: it reads the layer before it");
  if (ctx.input.c != anchors * per_anchor) {
    fail(ctx.section, "expects " + std::to_string(anchors) + " anchors x " +
                          std::to_string(per_anchor) + " = " + std::to_string(anchors * per_anchor) +
                          " input channels, but the previous layer has filters=" +
                          std::to_string(ctx.input.c));
  }
}

IouLoss parse_iou_loss(const CfgSection& s) {
  const std::string name = lower(s.get_string("iou_loss", "mse"));
  for (IouLoss loss : {IouLoss::kMse, IouLoss::kIou, IouLoss::kGiou, IouLoss::kDiou, IouLoss::kCiou}) {
    if (name == iou_loss_name(loss)) return loss;
  }
  fail(s, "iou_loss=" + name + " (expected mse, iou, giou, diou or ciou)");
}

// AlexeyAB's src/parser.c parse_yolo: iou_normalizer defaults to 0.75 there, not 1.
void read_alexeyab_loss_keys(const CfgSection& s, LayerDef* l) {
  l->iou_loss = parse_iou_loss(s);
  l->iou_normalizer = s.get_float("iou_normalizer", 0.75f);
  l->obj_normalizer = s.get_float("obj_normalizer", 1.f);
  l->cls_normalizer = s.get_float("cls_normalizer", 1.f);
  l->iou_thresh = s.get_float("iou_thresh", 1.f);
  l->max_delta = s.get_float("max_delta", std::numeric_limits<float>::max());
  const std::string thresh_kind = lower(s.get_string("iou_thresh_kind", "iou"));
  if (thresh_kind != "iou") fail(s, "iou_thresh_kind=" + thresh_kind + " is not supported (only iou)");
}

// A head's counts, checked before they size anything: classes and num positive, and num anchors
// need 2 x num values (width, height pairs) in `anchors`, so the file's length bounds num.
void check_head_counts(const ParseContext& ctx, const LayerDef& l) {
  check_positive(ctx, "classes", l.classes);
  check_positive(ctx, "num", l.num);
  const int64_t needed = 2 * int64_t{l.num};
  if (static_cast<int64_t>(l.anchors.size()) < needed) {
    fail(ctx.section, "num=" + std::to_string(l.num) + " needs " + std::to_string(needed) + " anchor values, found " +
                          std::to_string(l.anchors.size()));
  }
}

LayerDef parse_yolo(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  l.classes = s.get_int("classes", 20);
  l.num = s.get_int("num", 1);
  l.anchors = s.get_floats("anchors");
  check_head_counts(ctx, l);
  l.mask = s.get_ints("mask");
  if (l.mask.empty()) {
    for (int i = 0; i < l.num; ++i) l.mask.push_back(i);
  }
  for (const int m : l.mask) {
    if (m < 0 || m >= l.num) fail(s, "mask entry " + std::to_string(m) + " is not in [0, num)");
  }
  if (ctx.dialect == Dialect::kAlexeyAB) {
    l.scale_x_y = s.get_float("scale_x_y", 1.f);
    l.new_coords = s.get_int("new_coords", 0) != 0;
    read_alexeyab_loss_keys(s, &l);
    l.resize = s.get_float("resize", 1.f);
    if (!(l.resize > 0)) throw std::runtime_error(s.where("resize") + " must be positive, got " + s.get_string("resize", ""));
  }
  l.max_boxes = s.get_int("max", 90);
  l.jitter = s.get_float("jitter", 0.2f);
  l.random = s.get_int("random", 0) != 0;
  l.ignore_thresh = s.get_float("ignore_thresh", 0.5f);
  l.truth_thresh = s.get_float("truth_thresh", 1.f);
  check_head_channels(ctx, static_cast<int64_t>(l.mask.size()), int64_t{4} + 1 + l.classes);
  l.out = ctx.input;
  return l;
}

LayerDef parse_region(const ParseContext& ctx) {
  const CfgSection& s = ctx.section;
  LayerDef l;
  l.coords = s.get_int("coords", 4);
  l.classes = s.get_int("classes", 20);
  l.num = s.get_int("num", 1);
  l.softmax = s.get_int("softmax", 0) != 0;
  l.background = s.get_int("background", 0) != 0;
  l.anchors = s.get_floats("anchors");
  if (!s.get_string("tree", "").empty()) {
    throw std::runtime_error(s.where("tree") + ": hierarchical softmax (YOLO9000) is not supported");
  }
  check_head_counts(ctx, l);
  l.max_boxes = s.get_int("max", 30);
  l.jitter = s.get_float("jitter", 0.2f);
  l.random = s.get_int("random", 0) != 0;
  l.thresh = s.get_float("thresh", 0.5f);
  l.coord_scale = s.get_float("coord_scale", 1.f);
  l.object_scale = s.get_float("object_scale", 1.f);
  l.noobject_scale = s.get_float("noobject_scale", 1.f);
  l.class_scale = s.get_float("class_scale", 1.f);
  l.rescore = s.get_int("rescore", 0) != 0;
  l.bias_match = s.get_int("bias_match", 0) != 0;
  l.absolute = s.get_int("absolute", 0) != 0;
  check_positive(ctx, "coords", l.coords);
  check_head_channels(ctx, l.num, int64_t{l.coords} + 1 + l.classes);
  l.out = ctx.input;
  return l;
}

LayerDef parse_dropout(const ParseContext& ctx) {
  LayerDef l;
  l.probability = ctx.section.get_float("probability", 0.5f);
  l.out = ctx.input;
  return l;
}

LayerDef parse_softmax(const ParseContext& ctx) {
  LayerDef l;
  l.groups = ctx.section.get_int("groups", 1);
  l.temperature = ctx.section.get_float("temperature", 1.f);
  if (!ctx.section.get_string("tree", "").empty()) {
    throw std::runtime_error(ctx.section.where("tree") + ": hierarchical softmax is not supported");
  }
  check_positive(ctx, "groups", l.groups);
  if (ctx.input.size() % l.groups != 0) fail(ctx.section, "groups must divide the input size");
  l.out = ctx.input;
  return l;
}

LayerDef parse_batchnorm(const ParseContext& ctx) {
  LayerDef l;
  l.out = ctx.input;
  return l;
}

LayerDef parse_cost(const ParseContext& ctx) {
  LayerDef l;
  l.out = ctx.input;
  return l;
}

// AlexeyAB's spatial attention (sam_layer.c): out = previous * from, elementwise.
LayerDef parse_sam(const ParseContext& ctx) {
  LayerDef l;
  const auto from = ctx.section.get_ints("from");
  if (from.size() != 1) fail(ctx.section, "sam needs one 'from' layer");
  l.inputs = {resolve_index(ctx, "from", from[0])};
  l.activation = read_activation(ctx, "linear");
  const Shape other = ctx.previous[l.inputs[0]].out;
  if (other.c != ctx.input.c || other.h != ctx.input.h || other.w != ctx.input.w) {
    fail(ctx.section, "sam needs 'from' and the previous layer to have the same shape");
  }
  l.out = other;
  return l;
}

// AlexeyAB's scale_channels_layer.c: from-layer output times the previous layer's
// per-channel (or, with scale_wh, per-position) values.
LayerDef parse_scale_channels(const ParseContext& ctx) {
  LayerDef l;
  const auto from = ctx.section.get_ints("from");
  if (from.size() != 1) fail(ctx.section, "scale_channels needs one 'from' layer");
  l.inputs = {resolve_index(ctx, "from", from[0])};
  l.scale_wh = ctx.section.get_int("scale_wh", 0) != 0;
  l.activation = read_activation(ctx, "linear");
  const Shape other = ctx.previous[l.inputs[0]].out;
  const bool fits = l.scale_wh ? (ctx.input.c == 1 && ctx.input.h == other.h && ctx.input.w == other.w)
                               : (ctx.input.c == other.c && ctx.input.h == 1 && ctx.input.w == 1);
  if (!fits) fail(ctx.section, "the previous layer's shape does not fit the 'from' layer");
  l.out = other;
  return l;
}

using LayerParser = std::function<LayerDef(const ParseContext&)>;

const std::map<LayerType, LayerParser>& layer_parsers() {
  static const std::map<LayerType, LayerParser> parsers = {
      {LayerType::kConvolutional, parse_convolutional},
      {LayerType::kConnected, parse_connected},
      {LayerType::kMaxpool, parse_maxpool},
      {LayerType::kAvgpool, parse_avgpool},
      {LayerType::kRoute, parse_route},
      {LayerType::kShortcut, parse_shortcut},
      {LayerType::kUpsample, parse_upsample},
      {LayerType::kReorg, parse_reorg},
      {LayerType::kYolo, parse_yolo},
      {LayerType::kRegion, parse_region},
      {LayerType::kDropout, parse_dropout},
      {LayerType::kSoftmax, parse_softmax},
      {LayerType::kBatchnorm, parse_batchnorm},
      {LayerType::kSam, parse_sam},
      {LayerType::kScaleChannels, parse_scale_channels},
      {LayerType::kCost, parse_cost},
  };
  return parsers;
}

LayerType section_layer_type(const CfgSection& section) {
  const std::string name = canonical_section(section.type());
  for (const auto& entry : kLayerTypes) {
    if (name == entry.name) return static_cast<LayerType>(entry.value);
  }
  const auto refused = kRefusedSections.find(name);
  if (refused != kRefusedSections.end()) fail(section, refused->second);
  fail(section, "unknown section type");
}

void read_net_section(const CfgSection& net, NetDef* def) {
  def->width = net.get_int("width", 0);
  def->height = net.get_int("height", 0);
  def->channels = net.get_int("channels", 0);
  const bool alexeyab = def->dialect == Dialect::kAlexeyAB;
  def->letterbox = alexeyab ? net.get_int("letter_box", 0) != 0 : true;
  // Training keys belong to the trainer (train/); reading them here keeps the warnings about
  // unread keys meaningful for the layers.
  for (const char* key : {"batch", "subdivisions", "momentum", "decay", "angle", "saturation",
                          "exposure", "hue", "learning_rate", "burn_in", "max_batches", "policy",
                          "steps", "scales", "mosaic", "flip", "max_crop", "min_crop", "aspect",
                          "power", "gamma", "learning_rate_min", "sgdr_cycle", "sgdr_mult", "step",
                          "jitter", "random", "track", "time_steps", "blur", "mixup", "cutmix",
                          "label_smooth_eps", "adam", "B1", "B2", "eps", "inputs", "max_chart_loss",
                          "center", "seed"}) {
    net.get_string(key, "");
  }
  if (def->width <= 0 || def->height <= 0 || def->channels <= 0) {
    fail(net, "width, height and channels must be positive (got " + std::to_string(def->width) +
                  "x" + std::to_string(def->height) + "x" + std::to_string(def->channels) + ")");
  }
  if (def->width > kMaxInputSide || def->height > kMaxInputSide) {
    fail(net, "input " + std::to_string(def->width) + "x" + std::to_string(def->height) +
                  " is larger than " + std::to_string(kMaxInputSide) + " on a side");
  }
}

// Keys read only at training time by the heads; read here so they do not count as unknown.
void mark_training_keys(const CfgSection& section) {
  for (const char* key : {"jitter", "ignore_thresh", "truth_thresh", "random", "iou_thresh",
                          "iou_thresh_kind", "iou_normalizer", "cls_normalizer", "obj_normalizer",
                          "iou_loss", "nms_kind", "beta_nms", "max_delta", "counters_per_class",
                          "label_smooth_eps", "focal_loss", "bias_match", "rescore", "thresh",
                          "absolute", "object_scale", "noobject_scale", "class_scale",
                          "coord_scale", "map", "type", "scale", "max", "learning_rate", "stopbackward",
                          "dontload", "dontloadscales", "probability", "sparse"}) {
    section.get_string(key, "");
  }
}

}  // namespace

const char* dialect_name(Dialect dialect) {
  return dialect == Dialect::kPjreddie ? "pjreddie" : "alexeyab";
}

Dialect parse_dialect(const std::string& name) {
  const std::string n = lower(name);
  if (n == "pjreddie") return Dialect::kPjreddie;
  if (n == "alexeyab") return Dialect::kAlexeyAB;
  throw std::runtime_error("unknown dialect '" + name + "': expected pjreddie or alexeyab");
}

const char* activation_name(Activation activation) {
  for (const auto& entry : kActivations) {
    if (entry.value == int(activation)) return entry.name;
  }
  return "?";
}

const char* layer_type_name(LayerType type) {
  for (const auto& entry : kLayerTypes) {
    if (entry.value == int(type)) return entry.name;
  }
  return "?";
}

const char* iou_loss_name(IouLoss loss) {
  switch (loss) {
    case IouLoss::kMse: return "mse";
    case IouLoss::kIou: return "iou";
    case IouLoss::kGiou: return "giou";
    case IouLoss::kDiou: return "diou";
    case IouLoss::kCiou: return "ciou";
  }
  return "?";
}

long long LayerDef::num_weight_floats() const {
  switch (type) {
    case LayerType::kConvolutional: {
      // size x size can reach 2^62 (a kernel fits a padded input, not a sensible one): a count that
      // overflows is reported as the largest, which build_netdef refuses as absurd.
      long long weights = 0;
      if (__builtin_mul_overflow(static_cast<long long>(in.c / groups) * filters, static_cast<long long>(size) * size,
                                 &weights) ||
          weights > std::numeric_limits<long long>::max() / 2) {
        return std::numeric_limits<long long>::max();
      }
      return filters + (batch_normalize ? 3LL * filters : 0) + weights;
    }
    case LayerType::kConnected:
      return filters + static_cast<long long>(in.size()) * filters + (batch_normalize ? 3LL * filters : 0);
    case LayerType::kBatchnorm:
      return 3LL * in.c;
    default:
      return 0;
  }
}

long long NetDef::num_weight_floats() const {
  long long total = 0;
  for (const auto& layer : layers) total += layer.num_weight_floats();
  return total;
}

int NetDef::output_layer() const {
  int index = static_cast<int>(layers.size()) - 1;
  while (index > 0 && layers[static_cast<size_t>(index)].type == LayerType::kCost) --index;
  return index;
}

int NetDef::input_multiple() const {
  int multiple = 1;
  for (const auto& layer : layers) {
    if (layer.type == LayerType::kConnected) return 0;
    if (layer.out.w <= 0 || layer.out.h <= 0 || width % layer.out.w != 0 || height % layer.out.h != 0) return 0;
    multiple = std::max({multiple, width / layer.out.w, height / layer.out.h});
  }
  return multiple;
}

std::string NetDef::summary() const {
  std::ostringstream out;
  out << "layer  type            filters  size/strd   input            ->  output\n";
  for (const auto& l : layers) {
    char line[160];
    const char* name = layer_type_name(l.type);
    std::string kernel = "";
    if (l.type == LayerType::kConvolutional || l.type == LayerType::kMaxpool) {
      kernel = std::to_string(l.size) + "x" + std::to_string(l.size) + "/" + std::to_string(l.stride_x);
    }
    std::snprintf(line, sizeof(line), "%5d  %-15s %7s  %-9s  %4d x%4d x%5d  ->  %4d x%4d x%5d\n",
                  l.index, name, l.filters ? std::to_string(l.filters).c_str() : "", kernel.c_str(),
                  l.in.w, l.in.h, l.in.c, l.out.w, l.out.h, l.out.c);
    out << line;
  }
  return out.str();
}

Dialect detect_dialect(const CfgFile& cfg, int weights_revision, std::string* reason) {
  for (const auto& section : cfg.sections) {
    if (kAlexeyABSections.count(canonical_section(section.type()))) {
      *reason = section.where() + " exists only in AlexeyAB's Darknet";
      return Dialect::kAlexeyAB;
    }
    for (const auto& key : kAlexeyABKeys) {
      if (section.has(key)) {
        *reason = section.where(key) + " is an AlexeyAB-only key";
        return Dialect::kAlexeyAB;
      }
    }
    const std::string activation = section.has("activation") ? section.get_string("activation", "") : "";
    for (const auto& entry : kActivations) {
      if (activation == entry.name && kAlexeyABActivations.count(static_cast<Activation>(entry.value))) {
        *reason = section.where("activation") + " '" + activation + "' is AlexeyAB-only";
        return Dialect::kAlexeyAB;
      }
    }
  }
  if (weights_revision >= 5) {
    *reason = "the weights header has revision " + std::to_string(weights_revision) +
              " (AlexeyAB's Darknet writes 0.2.5)";
    return Dialect::kAlexeyAB;
  }
  *reason = "no AlexeyAB-only key, section or weights revision";
  return Dialect::kPjreddie;
}

NetDef build_netdef(const CfgFile& cfg, Dialect dialect) {
  NetDef def;
  def.cfg_path = cfg.path;
  def.dialect = dialect;
  def.warnings = cfg.warnings;
  const CfgSection& net = cfg.sections.front();
  const std::string first = canonical_section(net.type());
  if (first != "net") fail(net, "the first section must be [net] or [network]");
  // Refuse unsupported layers first: "recurrent layers are not supported" says more than a
  // complaint about the [net] keys such a cfg uses instead.
  for (size_t i = 1; i < cfg.sections.size(); ++i) section_layer_type(cfg.sections[i]);
  read_net_section(net, &def);

  Shape input{def.channels, def.height, def.width};
  for (size_t i = 1; i < cfg.sections.size(); ++i) {
    const CfgSection& section = cfg.sections[i];
    const LayerType type = section_layer_type(section);
    const int index = static_cast<int>(def.layers.size());
    const ParseContext ctx{section, dialect, def.layers, input, index};
    LayerDef layer = layer_parsers().at(type)(ctx);
    mark_training_keys(section);
    layer.type = type;
    layer.index = index;
    layer.where = section.where();
    layer.in = input;
    if (layer.out.size() > kMaxLayerElements || layer.num_weight_floats() > kMaxLayerElements) {
      fail(section, "absurd size: output " + std::to_string(layer.out.size()) + " values, " +
                        std::to_string(layer.num_weight_floats()) + " weights");
    }
    input = layer.out;
    def.layers.push_back(std::move(layer));
  }
  if (def.layers.empty()) fail(net, "the cfg defines no layers");
  for (const auto& section : cfg.sections) {
    for (const auto& [key, line] : section.unused_keys()) {
      def.warnings.push_back(section.file() + ":" + std::to_string(line) + ": [" + section.type() +
                             "] key '" + key + "' is not used by facekit (" + dialect_name(dialect) +
                             " dialect)");
    }
  }
  return def;
}

void set_input_size(CfgFile* cfg, int width, int height) {
  if (cfg->sections.empty()) return;
  if (width > 0) cfg->sections.front().set("width", std::to_string(width));
  if (height > 0) cfg->sections.front().set("height", std::to_string(height));
}

}  // namespace facekit::darknet
