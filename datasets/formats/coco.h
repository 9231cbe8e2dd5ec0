// COCO detection annotations (instances_*.json): `images` (id, file_name, width, height),
// `annotations` (image_id, category_id, bbox [x, y, w, h], iscrowd) and `categories` (id, name).
// Boxes are in COCO's continuous pixel coordinates (top-left corner, width, height; cocoeval
// takes w x h as the area), so a box is simply [x, y, x + w, y + h], with no 1-pixel shift.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/box.h"

namespace facekit {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;  // relative to the images folder
  int width = 0, height = 0;
};

struct CocoAnnotation {
  int64_t image_id = 0, category_id = 0;
  Box box;               // x1 = x, y1 = y, x2 = x + w, y2 = y + h
  bool iscrowd = false;  // a crowd region: evaluated as an ignore region
};

struct CocoDataset {
  std::vector<CocoImage> images;            // in file order
  std::vector<CocoAnnotation> annotations;  // in file order
  std::map<int64_t, std::string> categories;
};

// Throws with the file and the JSON position (parse errors: nlohmann's byte/line; bad values:
// the path such as `annotations[12].bbox`) for malformed JSON, a missing or mistyped field, a
// negative box size, a duplicate image id, or an annotation whose image or category is unknown.
CocoDataset read_coco(const std::string& path);

// The category named or numbered `which`; empty `which`: the only category, or the one named
// "face". Throws with the file and the categories there are.
int64_t coco_face_category(const CocoDataset& dataset, const std::string& which, const std::string& path);

}  // namespace facekit
