// The readers under fuzzing take paths: each input goes through one temporary file, and only a
// runtime_error (a clear message) may come out of them.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

inline std::string fuzz_input_file(const uint8_t* data, size_t size, const char* suffix) {
  const std::string path = "/tmp/facekit_fuzz_" + std::to_string(::getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

template <typename Read>
int fuzz_file_reader(const uint8_t* data, size_t size, const char* suffix, Read read) {
  const std::string path = fuzz_input_file(data, size, suffix);
  try {
    read(path);
  } catch (const std::runtime_error&) {
  }
  std::remove(path.c_str());
  return 0;
}
