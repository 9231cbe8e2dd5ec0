// The records of a zip archive as its central directory lists them, read without extracting
// anything: the names, compression methods and sizes that an extractor would trust.
//
// Why: LibTorch's PyTorchStreamReader::getRecord (miniz inside) allocates the uncompressed size a
// record claims before it inflates it, so a torch.save file whose directory claims 4 GB for a
// 24-byte record is a 4 GB allocation (found by tests/fuzz/fuzz_torch_state_dict.cpp). Reading
// the directory first lets the caller refuse such a claim.
//
// Format: PKWARE's APPNOTE.TXT, end of central directory record (4.3.16), its zip64 form and
// locator (4.3.14, 4.3.15), central directory file headers (4.3.12) and the zip64 extended
// information extra field (4.5.3), which holds the sizes of a record whose 32-bit fields read
// 0xFFFFFFFF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facekit {

struct ZipRecord {
  std::string name;
  uint16_t method = 0;           // 0 stored, 8 deflate (APPNOTE 4.4.5)
  uint64_t compressed_size = 0;  // bytes in the archive
  uint64_t size = 0;             // bytes once extracted
};

// The records in directory order. A truncated or inconsistent directory is a runtime_error naming
// the file and the byte offset.
std::vector<ZipRecord> read_zip_directory(const std::string& path);

}  // namespace facekit
