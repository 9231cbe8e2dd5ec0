// facekit-infer (also `facekit infer`): detect faces, classify gender and age, draw the labels and
// write JSON lines, on an image, a folder, a video, a webcam or a stream.
#pragma once

#include <string>
#include <vector>

#include "tools/facekit/cli.h"

namespace facekit::infer {

int run_infer(const std::vector<std::string>& args);

}  // namespace facekit::infer
