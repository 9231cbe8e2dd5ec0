#include "convert/darknet_torch.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "datasets/atomic_file.h"
#include "models/checkpoint_archive.h"

namespace facekit::darknet {
namespace {

constexpr const char* kFormatValue = "facekit-darknet-checkpoint-1";

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

LoadedDarknet build(const std::string& cfg_text, const std::string& cfg_name, Dialect dialect,
                    int input_w, int input_h, bool random_init) {
  CfgFile cfg = parse_cfg_text(cfg_text, cfg_name);
  set_input_size(&cfg, input_w, input_h);
  LoadedDarknet model;
  model.cfg_text = cfg_text;
  model.net = DarknetNet(build_netdef(cfg, dialect), random_init);
  model.net->eval();
  return model;
}

}  // namespace

LoadedDarknet load_darknet(const std::string& cfg_path, const std::string& weights_path,
                           const std::string& dialect_name_or_auto, int input_w, int input_h, bool load_values) {
  const std::string cfg_text = read_text(cfg_path);
  const bool has_weights = !weights_path.empty();
  DarknetWeights weights;
  if (has_weights && load_values) weights = read_weights(weights_path);
  const WeightsHeader header = !has_weights ? WeightsHeader{} : load_values ? weights.header : read_weights_header(weights_path);
  Dialect dialect = Dialect::kPjreddie;
  std::string reason = "chosen with --dialect";
  if (dialect_name_or_auto == "auto") {
    dialect = detect_dialect(parse_cfg_text(cfg_text, cfg_path), has_weights ? header.revision : 0, &reason);
  } else {
    dialect = parse_dialect(dialect_name_or_auto);
  }
  LoadedDarknet model = build(cfg_text, cfg_path, dialect, input_w, input_h, /*random_init=*/!has_weights);
  model.dialect_reason = reason;
  model.header = header;
  if (has_weights && load_values) {
    check_weights_fit(weights, model.net->def(), weights_path);
    model.net->load_weights(weights);
  } else if (has_weights) {
    check_weights_file_fits(weights_path, model.net->def());
  }
  return model;
}

void save_darknet_checkpoint(const LoadedDarknet& model, const std::string& path) {
  torch::serialize::OutputArchive archive;
  model.net->save(archive);
  const WeightsHeader& h = model.header;
  write_checkpoint_format(archive, kFormatValue);
  archive.write("facekit.cfg", c10::IValue(model.cfg_text));
  archive.write("facekit.dialect", c10::IValue(std::string(dialect_name(model.net->def().dialect))));
  archive.write("facekit.input_size",
                c10::IValue(std::vector<int64_t>{model.net->def().width, model.net->def().height}));
  archive.write("facekit.weights_header",
                c10::IValue(std::vector<int64_t>{h.major, h.minor, h.revision, static_cast<int64_t>(h.seen)}));
  write_file_atomically(path, [&](std::ostream& out) { archive.save_to(out); });
}

LoadedDarknet load_darknet_checkpoint(const std::string& path, int input_w, int input_h) {
  torch::serialize::InputArchive archive;
  open_checkpoint(archive, path, kFormatValue, "Darknet");
  c10::IValue value;
  archive.read("facekit.cfg", value);
  const std::string cfg_text = value.toStringRef();
  archive.read("facekit.dialect", value);
  const Dialect dialect = parse_dialect(value.toStringRef());
  archive.read("facekit.input_size", value);
  const auto size = value.toIntVector();
  LoadedDarknet model = build(cfg_text, path + " (cfg)", dialect, input_w > 0 ? input_w : static_cast<int>(size.at(0)),
                              input_h > 0 ? input_h : static_cast<int>(size.at(1)), /*random_init=*/false);
  archive.read("facekit.weights_header", value);
  const auto h = value.toIntVector();
  model.header = {static_cast<int32_t>(h.at(0)), static_cast<int32_t>(h.at(1)), static_cast<int32_t>(h.at(2)),
                  static_cast<uint64_t>(h.at(3))};
  model.net->load(archive);
  model.dialect_reason = "stored in the checkpoint";
  return model;
}

}  // namespace facekit::darknet
