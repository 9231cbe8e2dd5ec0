// Images that cannot be decoded during training: skipped, counted (over every rank), reported, and
// the run stops once more than a set fraction of what it has read is bad, since then the data,
// not the odd file, is broken. The check waits for kMinImagesRead images so that one bad file in
// the first batch does not end a run.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace facekit::train {

class BadDataCounter {
 public:
  static constexpr int64_t kMinImagesRead = 200;

  explicit BadDataCounter(double max_fraction) : max_fraction_(max_fraction) {}

  // `read` counts every image attempted, `bad` those that failed to decode.
  void add(int64_t bad, int64_t read) {
    bad_ += bad, read_ += read;
    epoch_bad_ += bad, epoch_read_ += read;
  }

  // Throws when more than the allowed fraction is bad.
  void check() const {
    if (read_ < kMinImagesRead || bad_ <= max_fraction_ * read_) return;
    std::ostringstream message;
    message << bad_ << " of the " << read_ << " images read so far cannot be decoded (more than " << 100 * max_fraction_
            << " %): the data is broken; fix it or raise --max-bad-fraction";
    throw std::runtime_error(message.str());
  }

  // "3 of 1200 images unreadable, skipped" for the epoch just ended ("" when none), then resets.
  std::string end_epoch() {
    std::string report;
    if (epoch_bad_ > 0) {
      report = std::to_string(epoch_bad_) + " of " + std::to_string(epoch_read_) + " images unreadable, skipped";
    }
    epoch_bad_ = epoch_read_ = 0;
    return report;
  }

  int64_t bad() const { return bad_; }

 private:
  double max_fraction_;
  int64_t bad_ = 0, read_ = 0, epoch_bad_ = 0, epoch_read_ = 0;
};

}  // namespace facekit::train
