// The images a detector gets most wrong, drawn for a person to look at: missed faces, false
// positives and true positives at one operating threshold, in three colours with a legend.
#pragma once

#include <string>
#include <vector>

#include "eval/detection_metrics.h"

namespace facekit::eval {

// Ranks images by errors (missed + false positives, image_errors at `iou_threshold` and
// `score_threshold`; ties keep dataset order), and draws the first `count` that have any error
// as `folder/<rank>_<image stem>.png` (each written atomically). `ImageDetections::image` must
// be the image's path. Returns the files written, worst first.
std::vector<std::string> draw_worst_images(const std::vector<ImageDetections>& images, float iou_threshold,
                                           float score_threshold, size_t count, const std::string& folder);

}  // namespace facekit::eval
