#include "datasets/formats/voc.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "datasets/formats/darknet_labels.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;
using tinyxml2::XMLElement;

constexpr float kVocFirstPixel = 1.f;  // VOC numbers pixels from 1

std::string where(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

std::string text_of(const XMLElement* element) {
  std::string text = element->GetText() ? element->GetText() : "";
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

const XMLElement* required_child(const std::string& path, const XMLElement* parent, const char* name) {
  const XMLElement* child = parent->FirstChildElement(name);
  if (!child) {
    throw std::runtime_error(where(path, parent->GetLineNum()) + "<" + parent->Name() + "> has no <" + name + ">");
  }
  return child;
}

// A whole, finite number (labelImg writes integers, some tools write decimals).
float number_in(const std::string& path, const XMLElement* parent, const char* name) {
  const XMLElement* element = required_child(path, parent, name);
  const std::string text = text_of(element);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value) || std::abs(value) > 1e9) {
    throw std::runtime_error(where(path, element->GetLineNum()) + "<" + name + ">: expected a number, found '" + text + "'");
  }
  return static_cast<float>(value);
}

int optional_size(const std::string& path, const XMLElement* size, const char* name) {
  if (!size || !size->FirstChildElement(name)) return 0;
  const float value = number_in(path, size, name);
  if (value < 0 || value != std::floor(value)) {
    throw std::runtime_error(where(path, size->GetLineNum()) + "<size> <" + name + ">: expected a whole number >= 0");
  }
  return static_cast<int>(value);
}

VocObject read_object(const std::string& path, const XMLElement* object) {
  VocObject o;
  o.line = object->GetLineNum();
  o.name = text_of(required_child(path, object, "name"));
  if (const XMLElement* difficult = object->FirstChildElement("difficult")) o.difficult = text_of(difficult) == "1";
  const XMLElement* bndbox = required_child(path, object, "bndbox");
  const float xmin = number_in(path, bndbox, "xmin"), ymin = number_in(path, bndbox, "ymin");
  const float xmax = number_in(path, bndbox, "xmax"), ymax = number_in(path, bndbox, "ymax");
  if (xmin > xmax || ymin > ymax) {
    std::ostringstream message;
    message << where(path, bndbox->GetLineNum()) << "<bndbox> of '" << o.name << "': xmin " << xmin << " > xmax " << xmax
            << " or ymin " << ymin << " > ymax " << ymax;
    throw std::runtime_error(message.str());
  }
  o.box = {xmin - kVocFirstPixel, ymin - kVocFirstPixel, xmax, ymax};
  return o;
}

}  // namespace

VocAnnotation read_voc_annotation(const std::string& xml_path) {
  tinyxml2::XMLDocument document;
  if (document.LoadFile(xml_path.c_str()) != tinyxml2::XML_SUCCESS) {
    const std::string reason = document.ErrorStr() ? document.ErrorStr() : "unreadable";
    throw std::runtime_error(where(xml_path, document.ErrorLineNum()) + "not valid XML: " + reason);
  }
  const XMLElement* root = document.FirstChildElement("annotation");
  if (!root) throw std::runtime_error(xml_path + ": expected a VOC <annotation> root element");
  VocAnnotation annotation;
  annotation.xml_path = xml_path;
  annotation.filename = text_of(required_child(xml_path, root, "filename"));
  if (annotation.filename.empty()) throw std::runtime_error(where(xml_path, root->GetLineNum()) + "<filename> is empty");
  const XMLElement* size = root->FirstChildElement("size");
  annotation.width = optional_size(xml_path, size, "width");
  annotation.height = optional_size(xml_path, size, "height");
  for (const XMLElement* o = root->FirstChildElement("object"); o; o = o->NextSiblingElement("object")) {
    annotation.objects.push_back(read_object(xml_path, o));
  }
  return annotation;
}

std::vector<std::string> voc_annotation_files(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": no such VOC annotations folder or XML list");
  if (!fs::is_directory(path)) return read_image_list(path);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

VocClassMap read_voc_class_map(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open class map");
  VocClassMap map;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string name, target, extra;
    if (!(fields >> name)) continue;
    if (!(fields >> target) || (target != "face" && target != "-") || (fields >> extra)) {
      throw std::runtime_error(where(path, number) + "expected 'NAME face' or 'NAME -', found '" + line + "'");
    }
    map[name] = target == "face";
  }
  return map;
}

}  // namespace facekit
