// Pascal VOC detection annotations: one XML file per image (<filename>, <size>, and per <object>
// a <name>, <difficult> and <bndbox> with xmin ymin xmax ymax), as the VOC devkit and labelImg
// write them.
//
// Coordinates: VOC boxes are 1-based and inclusive (pixel xmin to pixel xmax, both inside the
// box): the devkit's VOCevaldet.m takes a box's width as xmax - xmin + 1. In facekit's continuous
// 0-based coordinates (pixel i covers [i, i + 1)) that box is [xmin - 1, xmax]: x1 = xmin - 1,
// x2 = xmax, which keeps the devkit's width. (Darknet's scripts/voc_label.py shifts both ends by
// one instead, centre (xmin + xmax) / 2 - 1 and width xmax - xmin: one pixel narrower.)
#pragma once

#include <map>
#include <string>
#include <vector>

#include "datasets/box.h"

namespace facekit {

struct VocObject {
  std::string name;
  Box box;  // facekit pixels: x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax
  bool difficult = false;
  int line = 0;  // of <object> in the XML file, for messages
};

struct VocAnnotation {
  std::string xml_path;
  std::string filename;    // <filename>: the image, relative to the images folder
  int width = 0, height = 0;  // <size>, 0 when absent
  std::vector<VocObject> objects;
};

// Throws with file and line for malformed XML, a missing <filename> or <bndbox> coordinate, a
// coordinate that is not a number, or xmin > xmax / ymin > ymax.
VocAnnotation read_voc_annotation(const std::string& xml_path);

// `path` is a folder (its *.xml files, sorted by name) or a text file listing XML files (one a
// line; relative paths are taken relative to the list's folder).
std::vector<std::string> voc_annotation_files(const std::string& path);

// VOC class name -> whether it is a face. A class map file has `name face` or `name -` (dropped)
// lines; `#` starts a comment.
using VocClassMap = std::map<std::string, bool>;
VocClassMap read_voc_class_map(const std::string& path);

}  // namespace facekit
