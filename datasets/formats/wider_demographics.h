// Perceived gender and age group of WIDER FACE faces (data/wider-val-dev/demographics_416.csv):
// `image,face_index,x,y,w,h,perceived_gender,perceived_age`, boxes in pixels of the image, matched
// to WIDER's ground truth by face_index. "Not Sure" is an unknown label.
#pragma once

#include <string>
#include <vector>

#include "datasets/box.h"

namespace facekit {

// WIDER's perceived age groups, in increasing age; kUnknownGroup for "Not Sure".
enum AgeGroup : int { kUnknownGroup = -1, kYoungAdult = 0, kAdult = 1, kMiddleAge = 2, kSenior = 3 };
const char* age_group_name(int group);  // "Young Adult", ...

struct DemographicFace {
  std::string image;   // as listed (event/name.jpg)
  int face_index = 0;
  Box box;
  int gender = -1;     // 0 male, 1 female, -1 Not Sure
  int age_group = kUnknownGroup;
};

// Throws naming file and line for a malformed row or an unknown label.
std::vector<DemographicFace> read_wider_demographics(const std::string& csv_path);

}  // namespace facekit
