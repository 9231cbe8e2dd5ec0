// Writing outputs so that nothing is ever half-written: data goes to a temporary file in the
// destination's folder, is flushed, then renamed over the destination (rename is atomic on POSIX).
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace facekit {

// Calls `write` with a stream to a temporary file, then renames it to `path`. If `write` throws
// or the stream fails, the temporary file is removed and the destination is untouched.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace facekit
