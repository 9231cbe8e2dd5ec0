// What every facekit ONNX exporter shares: a graph builder (initialisers, nodes, attributes) and
// the last step (full shape inference, onnx::checker, then an atomic write).
#pragma once

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace facekit {

constexpr const char* kFacekitVersion = "0.1.0";

class GraphBuilder {
 public:
  // `fp16`: initialisers made by weights() are float16 (the graph's compute type).
  GraphBuilder(onnx::GraphProto* graph, bool fp16) : graph_(graph), fp16_(fp16) {}

  int32_t float_type() const { return fp16_ ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT; }

  // A float initializer in the graph's compute type.
  std::string weights(const std::string& name, const torch::Tensor& values);
  std::string scalar(const std::string& name, float value) { return weights(name, torch::tensor(value)); }
  // Initialisers that stay float32 / int64 whatever the compute type.
  std::string float32(const std::string& name, const std::vector<float>& values);
  std::string int64s(const std::string& name, const std::vector<int64_t>& values);

  // One node whose single output is named `output` (the node takes the same name).
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output);
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::string& output) {
    node(type, inputs, output);
    return output;
  }

  static void set(onnx::NodeProto* n, const std::string& name, int64_t value);
  static void set(onnx::NodeProto* n, const std::string& name, float value);
  static void set(onnx::NodeProto* n, const std::string& name, const std::string& value);
  static void set(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values);

 private:
  onnx::GraphProto* graph_;
  bool fp16_;
};

// An empty model with facekit's producer fields and the default-domain `opset` (checked: 11 to
// 17, the range the exporters are tested with; throws otherwise).
onnx::ModelProto new_onnx_model(int opset, const std::string& doc);

// Runs ONNX shape inference (types checked, errors thrown) and the checker, then writes `model`
// to `path` atomically. Throws naming the path when the graph is invalid.
void check_and_write_onnx(onnx::ModelProto* model, const std::string& path);

}  // namespace facekit
