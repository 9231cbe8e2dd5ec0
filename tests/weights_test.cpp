// .weights reading and writing: both header versions, byte-identical round trips, and errors
// that count what was expected and found.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"
#include "models/darknet/weights.h"

namespace facekit::darknet {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("facekit_weights_" + name + "_" + std::to_string(::getpid()))).string();
}

std::string bytes_of(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

template <typename T>
std::string raw(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
}

TEST(Weights, Version01HasA32BitSeen) {
  const std::string path = temp_path("v01");
  write_raw(path, raw<int32_t>(0) + raw<int32_t>(1) + raw<int32_t>(0) + raw<uint32_t>(1234) + raw<float>(1.5f) +
                      raw<float>(-2.f));
  const DarknetWeights w = read_weights(path);
  EXPECT_FALSE(w.header.seen_is_64bit());
  EXPECT_EQ(w.header.seen, 1234u);
  ASSERT_EQ(w.values.size(), 2u);
  EXPECT_EQ(w.values[1], -2.f);
  const std::string copy = temp_path("v01_copy");
  write_weights(w, copy);
  EXPECT_EQ(bytes_of(copy), bytes_of(path));
  fs::remove(path);
  fs::remove(copy);
}

TEST(Weights, Version02HasA64BitSeenAndRoundTrips) {
  const std::string path = temp_path("v02");
  write_raw(path, raw<int32_t>(0) + raw<int32_t>(2) + raw<int32_t>(5) + raw<uint64_t>(5000000000ULL) + raw<float>(3.f));
  const DarknetWeights w = read_weights(path);
  EXPECT_TRUE(w.header.seen_is_64bit());
  EXPECT_EQ(w.header.seen, 5000000000ULL);
  EXPECT_EQ(w.header.revision, 5);
  const std::string copy = temp_path("v02_copy");
  write_weights(w, copy);
  EXPECT_EQ(bytes_of(copy), bytes_of(path));
  fs::remove(path);
  fs::remove(copy);
}

TEST(Weights, TransposedFlagFollowsDarknet) {
  WeightsHeader header;
  header.major = 1001;
  EXPECT_TRUE(header.transposed());
  EXPECT_FALSE(header.seen_is_64bit());  // Darknet reads a 32-bit seen for these
}

TEST(Weights, TooShortHeaderNamesTheFile) {
  const std::string path = temp_path("short");
  write_raw(path, "abc");
  try {
    read_weights(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  fs::remove(path);
}

TEST(Weights, WrongCountSaysExpectedAndFound) {
  const NetDef net = build_netdef(
      parse_cfg_text("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=2\nsize=1\n", "n.cfg"),
      Dialect::kPjreddie);
  ASSERT_EQ(net.num_weight_floats(), 2 + 2 * 3);
  DarknetWeights w;
  w.values.resize(5);
  try {
    check_weights_fit(w, net, "n.weights");
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("needs 8 floats"), std::string::npos) << message;
    EXPECT_NE(message.find("has 5"), std::string::npos) << message;
    EXPECT_NE(message.find("layer 0"), std::string::npos) << message;
  }
  w.values.resize(9);
  EXPECT_THROW(check_weights_fit(w, net, "n.weights"), std::runtime_error);
  w.values.resize(8);
  EXPECT_NO_THROW(check_weights_fit(w, net, "n.weights"));
}

TEST(Weights, FailedWriteLeavesNoFileBehind) {
  DarknetWeights w;
  const std::string path = "/nonexistent-folder/out.weights";
  EXPECT_THROW(write_weights(w, path), std::runtime_error);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace facekit::darknet
