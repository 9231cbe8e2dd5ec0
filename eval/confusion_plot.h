// A confusion matrix as a PNG heat map: rows are labels, columns predictions, each cell shows its
// count and its share of the row (the colour follows the share, so rare classes stay readable).
#pragma once

#include <string>
#include <vector>

namespace facekit::eval {

// Atomic write; throws naming `path` when it cannot be written.
void plot_confusion_matrix(const std::vector<std::vector<int>>& confusion, const std::vector<std::string>& labels,
                           const std::string& title, const std::string& path);

}  // namespace facekit::eval
