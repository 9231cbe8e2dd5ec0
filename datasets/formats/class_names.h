// Darknet's .names files: one class name per line (CRLF tolerated).
#pragma once

#include <string>
#include <vector>

namespace facekit {

// An empty path gives no names; a missing file throws with its path.
std::vector<std::string> read_class_names(const std::string& path);

}  // namespace facekit
