// Detection training data: images with boxes normalised to the image (Darknet's label
// convention), gathered from a list whose lines may mix image paths (Darknet txt labels beside
// them, Darknet's label-path rule) and Pascal VOC .xml files (image from <filename> in `images/`
// beside the annotations folder, classes through a class map), plus Darknet's `.data` file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "datasets/label_audit.h"

namespace facekit {

struct LabelledBox {
  float x = 0, y = 0, w = 0, h = 0;  // centre and size, fractions of the image
  int class_id = 0;
};

struct DetectionSample {
  std::string image;
  std::vector<LabelledBox> boxes;
};

// Darknet's .data file (`key = value` lines: classes, train, valid, names, backup), plus
// facekit's optional `class_map` (VOC class name -> class index or `-` to drop).
struct DataFile {
  std::string path;
  int classes = 1;
  std::string train, valid, names, backup = "backup", class_map;
};
DataFile read_data_file(const std::string& path);

// VOC names map to class indices: `name index` or `name -` lines. Empty: every class is 0.
using ClassIndexMap = std::map<std::string, int>;
ClassIndexMap read_class_index_map(const std::string& path);

// Boxes are clipped to the image; a box with nothing left inside, or with a NaN, is dropped; an
// image listed again is dropped; an image without boxes stays (a negative example). What was fixed
// or dropped is counted in `audit` (label_audit.h). Throws naming the list or the label file and
// line for malformed input.
std::vector<DetectionSample> read_detection_list(const std::string& list_path, const ClassIndexMap& class_map,
                                                 LabelAudit* audit = nullptr);

}  // namespace facekit
