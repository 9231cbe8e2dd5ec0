// Plots written as PNG with OpenCV's drawing functions (no plotting library on Debian's C++ side).
#pragma once

#include <string>
#include <vector>

#include "eval/detection_metrics.h"

namespace facekit::eval {

// One precision-recall curve per size bucket on one chart, AP@0.5 in the legend; atomic write.
void plot_pr_curves(const std::vector<SizeBucket>& buckets, const std::string& title, const std::string& path);

}  // namespace facekit::eval
