#include "convert/onnx_graph.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <stdexcept>

#include "datasets/atomic_file.h"

namespace facekit {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;

std::string GraphBuilder::weights(const std::string& name, const torch::Tensor& values) {
  const auto typed = values.detach().to(torch::kCPU, fp16_ ? torch::kHalf : torch::kFloat32).contiguous();
  TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  for (const auto d : typed.sizes()) t->add_dims(d);
  t->set_data_type(float_type());
  t->mutable_raw_data()->assign(static_cast<const char*>(typed.data_ptr()), typed.nbytes());
  return name;
}

std::string GraphBuilder::float32(const std::string& name, const std::vector<float>& values) {
  TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->set_data_type(TensorProto::FLOAT);
  for (const float v : values) t->add_float_data(v);
  return name;
}

std::string GraphBuilder::int64s(const std::string& name, const std::vector<int64_t>& values) {
  TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->set_data_type(TensorProto::INT64);
  for (const int64_t v : values) t->add_int64_data(v);
  return name;
}

NodeProto* GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
  NodeProto* n = graph_->add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const auto& input : inputs) n->add_input(input);
  n->add_output(output);
  return n;
}

void GraphBuilder::set(NodeProto* n, const std::string& name, int64_t value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INT);
  a->set_i(value);
}

void GraphBuilder::set(NodeProto* n, const std::string& name, float value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::FLOAT);
  a->set_f(value);
}

void GraphBuilder::set(NodeProto* n, const std::string& name, const std::string& value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::STRING);
  a->set_s(value);
}

void GraphBuilder::set(NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INTS);
  for (const auto v : values) a->add_ints(v);
}

onnx::ModelProto new_onnx_model(int opset, const std::string& doc) {
  constexpr int kMinOpset = 11;  // Resize, Clip with inputs, NonMaxSuppression
  constexpr int kMaxOpset = 17;
  if (opset < kMinOpset || opset > kMaxOpset) {
    throw std::runtime_error("opset " + std::to_string(opset) + " is not supported (11 to 17)");
  }
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("facekit");
  model.set_producer_version(kFacekitVersion);
  model.set_doc_string(doc);
  auto* import = model.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  return model;
}

void check_and_write_onnx(onnx::ModelProto* model, const std::string& path) {
  try {
    onnx::shape_inference::InferShapes(*model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions{/*check_type=*/true, /*error_mode=*/1});
    onnx::checker::check_model(*model);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": the exported graph fails the ONNX checker: " + e.what());
  }
  write_file_atomically(path, [&](std::ostream& out) {
    if (!model->SerializeToOstream(&out)) throw std::runtime_error(path + ": cannot serialise the ONNX model");
  });
}

}  // namespace facekit
