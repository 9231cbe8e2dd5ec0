// What reading a training set fixed or left out, counted so that the trainers can report it with
// every epoch and refuse a set that is mostly broken before training starts. The rules (also in
// the README's 'What happens when'):
//   a box partly outside the image     clipped to the image                   (fixed)
//   a box of zero size, or wholly out  dropped                                (bad)
//   a NaN or Inf coordinate            the box dropped                        (bad)
//   an empty or missing label file     kept as an image without faces         (Darknet's reading)
//   the same image listed again        the repeat dropped (same file or bytes) (bad)
// An image counts as bad once, however many of its boxes were dropped.
#pragma once

#include <cstdint>
#include <string>

namespace facekit {

struct LabelAudit {
  int64_t images = 0;               // entries read, repeats included
  int64_t clipped_boxes = 0;
  int64_t dropped_boxes = 0;        // zero size or nothing left inside the image
  int64_t non_finite_boxes = 0;
  int64_t images_with_dropped_boxes = 0;
  int64_t empty_label_files = 0;
  int64_t missing_label_files = 0;
  int64_t duplicate_images = 0;

  int64_t bad_images() const { return images_with_dropped_boxes + duplicate_images; }

  // "labels: 3 boxes clipped, 1 dropped (zero size or outside), ..." naming only what occurred;
  // "" when the set was clean.
  std::string summary() const;
};

}  // namespace facekit
