// Finding the same training image listed twice: by path (after normalising it) or by content (a
// copy under another name). Only files of equal size are read and compared, so a set of distinct
// images costs one stat per file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facekit {

// true for each entry that repeats an earlier one: the same file (path or bytes) with the same
// `tags` value (e.g. the face box, when one image holds several faces). A file that cannot be read
// repeats nothing: decoding reports it later. `tags` is empty or one per path.
std::vector<bool> repeated_files(const std::vector<std::string>& paths, const std::vector<std::string>& tags = {});

// Drops the repeats of `samples` (anything with an `image` path), keeping first occurrences in
// order; returns how many were dropped.
template <typename Sample, typename Tag>
int64_t drop_repeated_images(std::vector<Sample>* samples, Tag tag_of) {
  std::vector<std::string> paths, tags;
  for (const auto& s : *samples) paths.push_back(s.image), tags.push_back(tag_of(s));
  const std::vector<bool> repeated = repeated_files(paths, tags);
  std::vector<Sample> kept;
  for (size_t i = 0; i < samples->size(); ++i) {
    if (!repeated[i]) kept.push_back(std::move((*samples)[i]));
  }
  const auto dropped = static_cast<int64_t>(samples->size() - kept.size());
  *samples = std::move(kept);
  return dropped;
}

}  // namespace facekit
