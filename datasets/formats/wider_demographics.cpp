#include "datasets/formats/wider_demographics.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "datasets/formats/face_labels.h"

namespace facekit {
namespace {

constexpr const char* kGroupNames[] = {"Young Adult", "Adult", "Middle age", "Senior"};
constexpr size_t kFields = 8;

int parse_age_group(const std::string& text) {
  if (text == "Not Sure") return kUnknownGroup;
  for (int g = kYoungAdult; g <= kSenior; ++g) {
    if (text == kGroupNames[g]) return g;
  }
  throw std::invalid_argument("age group '" + text + "' (expected Young Adult, Adult, Middle age, Senior or Not Sure)");
}

}  // namespace

const char* age_group_name(int group) {
  return group >= kYoungAdult && group <= kSenior ? kGroupNames[group] : "Not Sure";
}

std::vector<DemographicFace> read_wider_demographics(const std::string& csv_path) {
  std::ifstream file(csv_path);
  if (!file) throw std::runtime_error(csv_path + ": cannot open the WIDER demographics CSV");
  std::vector<DemographicFace> faces;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("image,", 0) == 0)) continue;
    std::vector<std::string> fields;
    std::stringstream in(line);
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    const std::string where = csv_path + ":" + std::to_string(number) + ": ";
    if (fields.size() != kFields) {
      throw std::runtime_error(where + "expected image,face_index,x,y,w,h,perceived_gender,perceived_age");
    }
    DemographicFace face;
    face.image = fields[0];
    try {
      face.face_index = std::stoi(fields[1]);
      const float x = std::stof(fields[2]), y = std::stof(fields[3]), w = std::stof(fields[4]), h = std::stof(fields[5]);
      if (!(w > 0 && h > 0)) throw std::invalid_argument("a box with no area");
      face.box = {x, y, x + w, y + h};
      face.gender = fields[6] == "Not Sure" ? -1 : parse_gender(fields[6]);
      face.age_group = parse_age_group(fields[7]);
    } catch (const std::logic_error& e) {  // stoi/stof and the label parsers
      throw std::runtime_error(where + "cannot read the row: " + e.what());
    }
    faces.push_back(face);
  }
  return faces;
}

}  // namespace facekit
