// THE preprocessing shared by training, evaluation and inference: images become float planar
// RGB in [0, 1] and are fitted to the network input exactly as Darknet does it.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/box.h"

namespace facekit {

// Darknet's `image`: channels x height x width floats, RGB, values in [0, 1].
struct PlanarImage {
  int w = 0, h = 0, c = 0;
  std::vector<float> data;

  float at(int x, int y, int k) const { return data[(static_cast<size_t>(k) * h + y) * w + x]; }
  float& at(int x, int y, int k) { return data[(static_cast<size_t>(k) * h + y) * w + x]; }
};

// Where the original image lies inside a letterboxed input (to map boxes back).
struct LetterboxGeometry {
  int input_w = 0, input_h = 0;  // network input
  int image_w = 0, image_h = 0;  // original image
  int resized_w = 0, resized_h = 0, offset_x = 0, offset_y = 0;
};

// Reads an image file as 8-bit BGR with OpenCV; throws with the path when it cannot be decoded.
cv::Mat read_image(const std::string& path);

// BGR 8-bit -> planar RGB floats byte / 255 (Darknet's mat_to_image + rgbgr_image).
PlanarImage to_planar_rgb(const cv::Mat& bgr);

// Darknet's resize_image (src/image.c): bilinear in two passes, columns then rows, with
// Darknet's own arithmetic (scale (in - 1) / (out - 1), the last column copied), so results
// match libdarknet to float rounding.
PlanarImage darknet_resize(const PlanarImage& image, int w, int h);

// Darknet's letterbox_image: keep the aspect ratio, resize with darknet_resize, centre on a
// w x h canvas filled with 0.5 (pjreddie's default input mode).
PlanarImage letterbox(const PlanarImage& image, int w, int h, LetterboxGeometry* geometry = nullptr);

// Fits an image to the input: letterbox, or a plain stretch (AlexeyAB's default).
PlanarImage fit_to_input(const PlanarImage& image, int w, int h, bool use_letterbox,
                         LetterboxGeometry* geometry = nullptr);

// ---- the face crop: detector box -> classifier input ----

// How a face box becomes the classifier's input. Stored in classifier checkpoints, so training,
// evaluation and inference crop the same way.
struct FaceCropOptions {
  // Side of the square crop / longer side of the face box. The original project used 1.4 for a
  // lone face and 1.05 in a crowd.
  float margin = 1.4f;
  int size = 160;  // output side in pixels
  // Where the square leaves the image it is padded with this colour (BGR), never squeezed: the
  // original project's border faces became non-square crops and looked wider than they are.
  cv::Scalar fill = cv::Scalar(104, 116, 124);  // ImageNet's mean colour: 0 after normalisation
};

// The square crop centred on `face`, padded where it leaves the image, resized to
// options.size x options.size (area averaging when shrinking, bilinear when enlarging), BGR 8-bit.
// The square is rounded to whole pixels once, so the same box always gives the same bytes.
cv::Mat face_crop(const cv::Mat& bgr, const Box& face, const FaceCropOptions& options);

// `crop` with the face `zoom` times larger in it (below 1: smaller), the same size and fill: the
// margin divided by `zoom`, so what surrounds the face still comes from the photo.
FaceCropOptions zoomed(FaceCropOptions crop, float zoom);

// Per-channel normalisation of an RGB image: (value / 255 - mean) / std.
struct Normalisation {
  float mean[3] = {0.485f, 0.456f, 0.406f};  // ImageNet, as torchvision's pretrained models expect
  float std[3] = {0.229f, 0.224f, 0.225f};
};

// BGR 8-bit -> planar RGB floats, normalised; appended to `out` (so a batch is one buffer).
void append_normalised_chw(const cv::Mat& bgr, const Normalisation& norm, std::vector<float>* out);

}  // namespace facekit
