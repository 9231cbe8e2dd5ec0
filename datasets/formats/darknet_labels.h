// Darknet's detection datasets: a list file of image paths, and beside each image a label file
// found by Darknet's own rule (fill_truth_detection in src/data.c: "images" -> "labels",
// "JPEGImages" -> "labels", extension -> .txt) with one `class cx cy w h` line per box, normalised
// to the image size.
#pragma once

#include <string>
#include <vector>

namespace facekit {

struct DarknetLabel {
  int class_id = 0;
  float cx = 0, cy = 0, w = 0, h = 0;  // fractions of the image size
};

// Image paths of a list file; a relative path that does not exist as given is taken relative to
// the list file's folder. Throws with the list's path when it cannot be read.
std::vector<std::string> read_image_list(const std::string& list_path);

std::string darknet_label_path(const std::string& image_path);

// A missing label file means no boxes (Darknet's own reading). A malformed line throws with file
// and line. Values are returned as written, NaN and outside [0, 1] included: the detection data
// reader clips or drops such boxes and counts them (label_audit.h).
std::vector<DarknetLabel> read_darknet_labels(const std::string& label_path);

}  // namespace facekit
