#include "models/darknet/cfg.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "datasets/text.h"

namespace facekit::darknet {
namespace {

// Darknet strips all whitespace inside a line (strip() in src/utils.c), so "anchors = 1, 2"
// and "anchors=1,2" are the same; we trim around key and value and drop spaces inside lists.
std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> items;
  std::stringstream stream(value);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = trimmed(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace

CfgSection::CfgSection(std::string type, std::string file, int line)
    : type_(std::move(type)), file_(std::move(file)), line_(line) {}

bool CfgSection::add(const std::string& key, const std::string& value, int line) {
  return options_.emplace(key, CfgOption{value, line}).second;
}

void CfgSection::set(const std::string& key, const std::string& value) {
  auto [it, inserted] = options_.emplace(key, CfgOption{value, line_});
  if (!inserted) it->second.value = value;
}

bool CfgSection::has(const std::string& key) const { return options_.count(key) != 0; }

const CfgOption* CfgSection::find(const std::string& key) const {
  const auto it = options_.find(key);
  if (it == options_.end()) return nullptr;
  it->second.used = true;
  return &it->second;
}

std::string CfgSection::where() const {
  return file_ + ":" + std::to_string(line_) + ": [" + type_ + "]";
}

std::string CfgSection::where(const std::string& key) const {
  const auto it = options_.find(key);
  const int line = it == options_.end() ? line_ : it->second.line;
  return file_ + ":" + std::to_string(line) + ": [" + type_ + "] " + key;
}

int CfgSection::get_int(const std::string& key, int fallback) const {
  const CfgOption* option = find(key);
  if (!option) return fallback;
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(option->value.c_str(), &end, 10);
  if (end == option->value.c_str() || *end != '\0' || errno == ERANGE || value < INT32_MIN ||
      value > INT32_MAX) {
    throw std::runtime_error(where(key) + ": expected an integer, found '" + option->value + "'");
  }
  return static_cast<int>(value);
}

float CfgSection::get_float(const std::string& key, float fallback) const {
  const CfgOption* option = find(key);
  if (!option) return fallback;
  char* end = nullptr;
  const float value = std::strtof(option->value.c_str(), &end);
  if (end == option->value.c_str() || *end != '\0') {
    throw std::runtime_error(where(key) + ": expected a number, found '" + option->value + "'");
  }
  return value;
}

std::string CfgSection::get_string(const std::string& key, const std::string& fallback) const {
  const CfgOption* option = find(key);
  return option ? option->value : fallback;
}

std::vector<int> CfgSection::get_ints(const std::string& key) const {
  const CfgOption* option = find(key);
  std::vector<int> values;
  if (!option) return values;
  for (const auto& item : split_list(option->value)) {
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    if (*end != '\0') {
      throw std::runtime_error(where(key) + ": expected a list of integers, found '" +
                               option->value + "'");
    }
    values.push_back(static_cast<int>(value));
  }
  return values;
}

std::vector<float> CfgSection::get_floats(const std::string& key) const {
  const CfgOption* option = find(key);
  std::vector<float> values;
  if (!option) return values;
  for (const auto& item : split_list(option->value)) {
    char* end = nullptr;
    const float value = std::strtof(item.c_str(), &end);
    if (*end != '\0') {
      throw std::runtime_error(where(key) + ": expected a list of numbers, found '" +
                               option->value + "'");
    }
    values.push_back(value);
  }
  return values;
}

int CfgSection::require_int(const std::string& key) const {
  if (!has(key)) throw std::runtime_error(where() + ": missing required key '" + key + "'");
  return get_int(key, 0);
}

std::vector<std::pair<std::string, int>> CfgSection::unused_keys() const {
  std::vector<std::pair<std::string, int>> unused;
  for (const auto& [key, option] : options_) {
    if (!option.used) unused.emplace_back(key, option.line);
  }
  return unused;
}

CfgFile parse_cfg_text(const std::string& text, const std::string& path) {
  CfgFile cfg{path, {}, {}};
  std::stringstream stream(text);
  std::string raw;
  int line_number = 0;
  while (std::getline(stream, raw)) {
    ++line_number;
    const std::string line = trimmed(raw);
    const auto where = [&] { return path + ":" + std::to_string(line_number) + ": "; };
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') throw std::runtime_error(where() + "expected ']' to close '" + line + "'");
      const std::string type = trimmed(line.substr(1, line.size() - 2));
      if (type.empty()) throw std::runtime_error(where() + "empty section name '[]'");
      cfg.sections.emplace_back(type, path, line_number);
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
      throw std::runtime_error(where() + "expected 'key=value', found '" + line + "'");
    }
    if (cfg.sections.empty()) {
      throw std::runtime_error(where() + "option '" + line + "' before the first [section]");
    }
    const std::string key = trimmed(line.substr(0, equals));
    const std::string value = trimmed(line.substr(equals + 1));
    if (key.empty()) throw std::runtime_error(where() + "empty key in '" + line + "'");
    if (!cfg.sections.back().add(key, value, line_number)) {
      cfg.warnings.push_back(where() + "repeated key '" + key + "' in " + cfg.sections.back().where() +
                             ": the first value is used, as in Darknet");
    }
  }
  if (cfg.sections.empty()) throw std::runtime_error(path + ": no sections: not a Darknet cfg");
  return cfg;
}

CfgFile parse_cfg_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open cfg file");
  std::stringstream buffer;
  buffer << file.rdbuf();
  return parse_cfg_text(buffer.str(), path);
}

}  // namespace facekit::darknet
