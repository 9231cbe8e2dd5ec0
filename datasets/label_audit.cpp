#include "datasets/label_audit.h"

#include <vector>

namespace facekit {

std::string LabelAudit::summary() const {
  std::vector<std::string> parts;
  const auto add = [&](int64_t count, const std::string& what) {
    if (count > 0) parts.push_back(std::to_string(count) + " " + what);
  };
  add(clipped_boxes, "boxes clipped to the image");
  add(dropped_boxes, "boxes dropped (zero size or outside the image)");
  add(non_finite_boxes, "boxes dropped (NaN or Inf)");
  add(empty_label_files, "empty label files (images without faces)");
  add(missing_label_files, "images without a label file (without faces)");
  add(duplicate_images, "repeated images dropped");
  if (parts.empty()) return "";
  std::string text = "labels of " + std::to_string(images) + " images: ";
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? ", " : "") + parts[i];
  return text;
}

}  // namespace facekit
