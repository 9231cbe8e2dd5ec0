#include "convert/zip_directory.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace facekit {
namespace {

constexpr uint32_t kEndSignature = 0x06054b50;           // "PK\5\6", APPNOTE 4.3.16
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;  // "PK\6\7", 4.3.15
constexpr uint32_t kZip64EndSignature = 0x06064b50;      // "PK\6\6", 4.3.14
constexpr uint32_t kEntrySignature = 0x02014b50;         // "PK\1\2", 4.3.12
constexpr uint64_t kEndSize = 22, kZip64LocatorSize = 20, kZip64EndSize = 56, kEntrySize = 46;
constexpr uint64_t kMaxCommentSize = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;  // 4.5.3
constexpr uint32_t kZip64Marker = 0xFFFFFFFF;

// Bytes [offset, offset + size) of the file, read only once the file is known to hold them; fields
// are little-endian (as this host) at positions inside the chunk, errors name the file offset.
class Chunk {
 public:
  Chunk(const std::string& path, std::ifstream& file, uint64_t file_size, uint64_t offset, uint64_t size)
      : path_(path), offset_(offset) {
    if (offset > file_size || size > file_size - offset) {
      fail(std::to_string(size) + " bytes of zip directory would end past the file's " + std::to_string(file_size), 0);
    }
    bytes_.resize(size);
    file.seekg(static_cast<std::streamoff>(offset));
    file.read(bytes_.data(), static_cast<std::streamsize>(size));
    if (static_cast<uint64_t>(file.gcount()) != size) fail("cannot read the zip directory", 0);
  }

  template <typename T>
  T get(uint64_t at) const {
    T v;
    std::memcpy(&v, take(at, sizeof v), sizeof v);
    return v;
  }
  std::string text(uint64_t at, uint64_t n) const { return std::string(take(at, n), n); }
  uint64_t size() const { return bytes_.size(); }
  uint64_t offset() const { return offset_; }

  [[noreturn]] void fail(const std::string& what, uint64_t at) const {
    throw std::runtime_error(path_ + ": byte " + std::to_string(offset_ + at) + ": " + what);
  }

 private:
  const char* take(uint64_t at, uint64_t n) const {
    if (at > bytes_.size() || n > bytes_.size() - at) fail("zip directory truncated", at);
    return bytes_.data() + at;
  }

  const std::string& path_;
  uint64_t offset_;
  std::string bytes_;
};

struct Directory {
  uint64_t count, size, offset;
};

// The last end-of-central-directory signature in the file's tail, as miniz and python's zipfile
// look for it (a comment of up to 64 KiB may follow the record).
uint64_t find_end_record(const Chunk& tail) {
  for (uint64_t at = tail.size() >= kEndSize ? tail.size() - kEndSize + 1 : 0; at-- > 0;) {
    if (tail.get<uint32_t>(at) == kEndSignature) return at;
  }
  tail.fail("no end of central directory record: not a zip archive", 0);
}

// Where the directory is. A zip64 locator just before the end record means the zip64 end record
// holds the true count, size and offset (archives over 4 GiB or 65535 records).
Directory locate_directory(const std::string& path, std::ifstream& file, uint64_t file_size) {
  const uint64_t tail_size = std::min(file_size, kEndSize + kMaxCommentSize);
  const Chunk tail(path, file, file_size, file_size - tail_size, tail_size);
  const uint64_t end = tail.offset() + find_end_record(tail);
  if (end >= kZip64LocatorSize) {
    const Chunk locator(path, file, file_size, end - kZip64LocatorSize, kZip64LocatorSize);
    if (locator.get<uint32_t>(0) == kZip64LocatorSignature) {
      const Chunk zip64(path, file, file_size, locator.get<uint64_t>(8), kZip64EndSize);
      if (zip64.get<uint32_t>(0) != kZip64EndSignature) zip64.fail("no zip64 end of central directory record", 0);
      return {zip64.get<uint64_t>(32), zip64.get<uint64_t>(40), zip64.get<uint64_t>(48)};
    }
  }
  const uint64_t at = end - tail.offset();
  return {tail.get<uint16_t>(at + 10), tail.get<uint32_t>(at + 12), tail.get<uint32_t>(at + 16)};
}

// A record's 64-bit sizes from its zip64 extra field: the fields present are those whose 32-bit
// header field reads 0xFFFFFFFF, uncompressed size first (4.5.3).
void read_zip64_sizes(const Chunk& directory, uint64_t extra, uint64_t extra_size, ZipRecord& record) {
  for (uint64_t at = extra; at + 4 <= extra + extra_size;) {
    const auto id = directory.get<uint16_t>(at), size = directory.get<uint16_t>(at + 2);
    uint64_t field = at + 4;
    at = field + size;
    if (id != kZip64ExtraId) continue;
    for (uint64_t* value : {&record.size, &record.compressed_size}) {
      if (*value != kZip64Marker) continue;
      if (field + sizeof(uint64_t) > at) directory.fail("zip64 extra field too short for its sizes", field);
      *value = directory.get<uint64_t>(field);
      field += sizeof(uint64_t);
    }
    return;
  }
  directory.fail("record '" + record.name + "' has 32-bit sizes 0xFFFFFFFF and no zip64 extra field", extra);
}

}  // namespace

std::vector<ZipRecord> read_zip_directory(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw std::runtime_error(path + ": cannot open");
  const auto file_size = static_cast<uint64_t>(file.tellg());
  const Directory where = locate_directory(path, file, file_size);
  const Chunk directory(path, file, file_size, where.offset, where.size);
  std::vector<ZipRecord> records;
  uint64_t at = 0;
  for (uint64_t i = 0; i < where.count; ++i) {
    if (directory.get<uint32_t>(at) != kEntrySignature) directory.fail("not a central directory file header", at);
    ZipRecord record;
    record.method = directory.get<uint16_t>(at + 10);
    record.compressed_size = directory.get<uint32_t>(at + 20);
    record.size = directory.get<uint32_t>(at + 24);
    const auto name_size = directory.get<uint16_t>(at + 28), extra_size = directory.get<uint16_t>(at + 30),
               comment_size = directory.get<uint16_t>(at + 32);
    record.name = directory.text(at + kEntrySize, name_size);
    if (record.size == kZip64Marker || record.compressed_size == kZip64Marker) {
      read_zip64_sizes(directory, at + kEntrySize + name_size, extra_size, record);
    }
    records.push_back(std::move(record));
    at += kEntrySize + name_size + extra_size + comment_size;
  }
  return records;
}

}  // namespace facekit
