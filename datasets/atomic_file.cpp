#include "datasets/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace facekit {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot write (folder missing or not writable)");
    write(out);
    out.flush();
    if (!out) throw std::runtime_error(path + ": write failed (disk full?)");
    out.close();
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      throw std::runtime_error(path + ": cannot rename the temporary file into place");
    }
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
}

}  // namespace facekit
