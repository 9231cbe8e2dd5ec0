// WIDER FACE ground truth (wider_face_*_bbx_gt.txt): an image path line, a count line, then one
// line per face `x y w h blur expression illumination invalid occlusion pose` (pixels). An image
// with no face has count 0 followed by one line of zeros, which is skipped.
#pragma once

#include <string>
#include <vector>

namespace facekit {

struct WiderFace {
  float x = 0, y = 0, w = 0, h = 0;
  int blur = 0, expression = 0, illumination = 0, occlusion = 0, pose = 0;
  bool invalid = false;
};

struct WiderImage {
  std::string path;  // relative to the images folder
  std::vector<WiderFace> faces;
};

// Throws with file and line for a malformed count or face line.
std::vector<WiderImage> read_wider_ground_truth(const std::string& path);

// WIDER lists `event/name.jpg`; a flattened copy keeps only `name.jpg`: accepts both layouts
// (the nested path when it exists, else the bare name in `images_dir`).
std::string wider_image_path(const std::string& images_dir, const std::string& listed);

}  // namespace facekit
