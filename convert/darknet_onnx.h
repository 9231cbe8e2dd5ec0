// Darknet -> ONNX, built node by node with the ONNX protobuf C++ API (libonnx), checked with
// onnx::checker and full shape inference before anything is written.
//
// Raw mode (default): input `input` (N, 3, H, W) float32 RGB in [0, 1], already letterboxed or
// resized; one output per yolo/region layer i, the tensor that feeds it, named yolo_<i> /
// region_<i> (what `facekit darknet forward --dump` writes as yolo_<i>.npy); a classifier
// outputs its last layer as `output`.
// decode: `boxes` (N, K, 4: x1 y1 x2 y2 in input pixels) and `scores` (N, K, C: objectness x
// class probability), K running over heads, anchors, rows, columns in that order.
// nms (implies decode): ONNX NonMaxSuppression inside the graph; output `detections`
// (M, 7): batch index, x1, y1, x2, y2, score, class.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/darknet/darknet_net.h"

namespace facekit::darknet {

struct OnnxExportOptions {
  int opset = 13;                 // 11 to 17
  int batch = 1;                  // fixed batch size, unless dynamic_batch
  bool dynamic_batch = false;     // batch dimension named "batch"
  bool fp16 = false;              // float16 weights and compute; inputs/outputs stay float32...
  bool fp16_io = false;           // ...unless this asks for float16 there too (NMS detections stay float32)
  bool fold_bn = true;            // BatchNorm folded into the convolutions
  bool decode = false;
  bool nms = false;
  float conf_thresh = 0.25f;
  float iou_thresh = 0.45f;
  int max_detections = 100;       // per class and image (ONNX NonMaxSuppression semantics)
  std::vector<std::string> class_names;
};

// Throws (with the layer's cfg line) for anything that cannot be exported; writes atomically.
void export_darknet_onnx(DarknetNetImpl& net, const OnnxExportOptions& options, const std::string& path);

// The metadata export_darknet_onnx stores (class_names, anchors, input_size "WxH", resize_mode
// "letterbox" | "stretch", dialect, source_cfg...), read back from an .onnx file: key -> value.
// Throws with the path when the file is not an ONNX model.
std::map<std::string, std::string> read_onnx_metadata(const std::string& path);

}  // namespace facekit::darknet
