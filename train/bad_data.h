// Bad training data, counted and reported with every epoch; the run stops once more than a set
// fraction of it is bad, since then the data, not the odd file, is broken.
//  - Labels (label_audit.h) are known when the set is read: too many bad ones stop the run before
//    it starts.
//  - Images that cannot be decoded are found while training (over every rank); the check waits for
//    kMinImagesRead images so that one bad file in the first batch does not end a run.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "datasets/label_audit.h"

namespace facekit::train {

class BadDataCounter {
 public:
  static constexpr int64_t kMinImagesRead = 200;

  explicit BadDataCounter(double max_fraction, LabelAudit labels = {}) : max_fraction_(max_fraction), labels_(labels) {}

  // Throws when more than the allowed fraction of the images has bad labels.
  void check_labels(const std::string& list) const {
    if (labels_.bad_images() <= max_fraction_ * labels_.images) return;
    std::ostringstream message;
    message << list << ": " << labels_.bad_images() << " of " << labels_.images << " images have bad labels (more than "
            << 100 * max_fraction_ << " %): " << labels_.summary() << "; fix them or raise --max-bad-fraction";
    throw std::runtime_error(message.str());
  }

  // `read` counts every image attempted, `bad` those that failed to decode.
  void add(int64_t bad, int64_t read) {
    bad_ += bad, read_ += read;
    unreported_bad_ += bad, unreported_read_ += read;
  }

  // Throws when more than the allowed fraction is bad.
  void check() const {
    if (read_ < kMinImagesRead || bad_ <= max_fraction_ * read_) return;
    std::ostringstream message;
    message << bad_ << " of the " << read_ << " images read so far cannot be decoded (more than " << 100 * max_fraction_
            << " %): the data is broken; fix it or raise --max-bad-fraction";
    throw std::runtime_error(message.str());
  }

  // "3 of 1200 images unreadable, skipped" since the last call ("" when none); resets the count.
  // The detector trainer reports this at each checkpoint.
  std::string take_unreadable() {
    std::string report;
    if (unreported_bad_ > 0) {
      report = std::to_string(unreported_bad_) + " of " + std::to_string(unreported_read_) + " images unreadable, skipped";
    }
    unreported_bad_ = unreported_read_ = 0;
    return report;
  }

  // take_unreadable() for the epoch just ended, then what reading the labels fixed or dropped.
  std::string end_epoch() {
    std::string report = take_unreadable();
    if (const std::string labels = labels_.summary(); !labels.empty()) report += (report.empty() ? "" : "; ") + labels;
    return report;
  }

  int64_t bad() const { return bad_; }

 private:
  double max_fraction_;
  LabelAudit labels_;
  int64_t bad_ = 0, read_ = 0, unreported_bad_ = 0, unreported_read_ = 0;
};

}  // namespace facekit::train
