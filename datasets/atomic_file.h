// Writing outputs so that nothing is ever half-written: data goes to a temporary file in the
// destination's folder, is flushed, then renamed over the destination (rename is atomic on POSIX).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace facekit {

// Calls `write` with a stream to a temporary file, then renames it to `path`. If `write` throws
// or the stream fails, the temporary file is removed and the destination is untouched.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Checked before a long run starts, so that it cannot end in a lost checkpoint hours later:
// creates `folder`, writes and removes a probe file in it, and requires `bytes_needed` free.
// Throws runtime_error naming the folder and the reason (read-only, not a folder, disk full).
void require_writable_folder(const std::string& folder, std::uintmax_t bytes_needed);

}  // namespace facekit
