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

void require_writable_folder(const std::string& folder, std::uintmax_t bytes_needed) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(folder, error);
  if (error || !fs::is_directory(folder)) {
    throw std::runtime_error(folder + ": cannot create this output folder" + (error ? ": " + error.message() : ""));
  }
  const std::string probe = (fs::path(folder) / (".facekit-probe." + std::to_string(::getpid()))).string();
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    out << "probe";
    out.close();
    if (!out) {
      std::remove(probe.c_str());
      throw std::runtime_error(folder + ": the output folder is not writable (read-only, or no permission)");
    }
  }
  std::remove(probe.c_str());
  const auto space = fs::space(folder, error);
  if (!error && space.available < bytes_needed) {
    throw std::runtime_error(folder + ": only " + std::to_string(space.available >> 20) + " MiB free, the run needs about " +
                             std::to_string(bytes_needed >> 20) + " MiB for its checkpoints");
  }
}

}  // namespace facekit
