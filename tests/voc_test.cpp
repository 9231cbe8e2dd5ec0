// Pascal VOC annotations: hand-written files (coordinates, difficult, class maps), errors that
// name the file and line, and the real face-mask set's published box count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "datasets/formats/voc.h"
#include "tests/test_util.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

class VocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("facekit_voc_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  // The message of the exception reading `path` throws.
  static std::string error_of(const std::string& path) {
    try {
      read_voc_annotation(path);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

std::string object(const std::string& name, const std::string& box, int difficult = 0) {
  return "  <object>\n    <name>" + name + "</name>\n    <difficult>" + std::to_string(difficult) + "</difficult>\n" +
         "    <bndbox>" + box + "</bndbox>\n  </object>\n";
}

std::string annotation(const std::string& objects) {
  return "<annotation>\n  <filename>a.jpg</filename>\n  <size><width>100</width><height>80</height><depth>3</depth></size>\n" +
         objects + "</annotation>\n";
}

// 1-based inclusive VOC pixels 11..20 are [10, 20) in facekit pixels: width 10, as VOCevaldet.m's
// xmax - xmin + 1.
TEST_F(VocTest, CoordinatesDifficultAndSize) {
  const auto a = read_voc_annotation(write(
      "a.xml", annotation(object("face", "<xmin>11</xmin><ymin>21</ymin><xmax>20</xmax><ymax>40</ymax>") +
                          object("hand", "<xmin> 1.5 </xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax>", 1))));
  EXPECT_EQ(a.filename, "a.jpg");
  EXPECT_EQ(a.width, 100);
  EXPECT_EQ(a.height, 80);
  ASSERT_EQ(a.objects.size(), 2u);
  EXPECT_EQ(a.objects[0].name, "face");
  EXPECT_FLOAT_EQ(a.objects[0].box.x1, 10.f);
  EXPECT_FLOAT_EQ(a.objects[0].box.y1, 20.f);
  EXPECT_FLOAT_EQ(a.objects[0].box.x2, 20.f);
  EXPECT_FLOAT_EQ(a.objects[0].box.y2, 40.f);
  EXPECT_FLOAT_EQ(a.objects[0].box.width(), 10.f);
  EXPECT_FALSE(a.objects[0].difficult);
  EXPECT_TRUE(a.objects[1].difficult);
  EXPECT_FLOAT_EQ(a.objects[1].box.x1, 0.5f);
  EXPECT_EQ(a.objects[1].line, 9);
}

TEST_F(VocTest, ErrorsNameFileLineAndProblem) {
  const auto expect = [&](const std::string& name, const std::string& text, const std::string& where,
                          const std::string& what) {
    const std::string path = write(name, text);
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path + ":" + where), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  expect("no_box.xml", annotation("  <object>\n    <name>face</name>\n  </object>\n"), "4:", "has no <bndbox>");
  expect("word.xml", annotation(object("face", "\n<xmin>one</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax>")), "8:",
         "<xmin>: expected a number, found 'one'");
  expect("missing.xml", annotation(object("face", "<xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>")), "7:", "has no <ymax>");
  expect("swapped.xml", annotation(object("face", "<xmin>9</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax>")), "7:",
         "xmin 9 > xmax 2");
  expect("broken.xml", "<annotation>\n<filename>a.jpg</filename>\n<object>\n</annotation>\n", "3:", "not valid XML");
  expect("nofile.xml", "<annotation>\n</annotation>\n", "1:", "has no <filename>");
  EXPECT_NE(error_of((dir_ / "absent.xml").string()).find("absent.xml"), std::string::npos);
}

TEST_F(VocTest, FolderIsSortedListIsRelativeToItsFolder) {
  write("b.xml", annotation(""));
  write("a.xml", annotation(""));
  write("notes.txt", "b.xml\na.xml\n");
  const auto files = voc_annotation_files(dir_.string());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "a.xml");
  const auto listed = voc_annotation_files((dir_ / "notes.txt").string());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], (dir_ / "b.xml").string());
}

TEST_F(VocTest, ClassMap) {
  const auto map = read_voc_class_map(write("map.txt", "# VOC name -> face\nwith_mask face\nhand -  # not a face\n\n"));
  ASSERT_EQ(map.size(), 2u);
  EXPECT_TRUE(map.at("with_mask"));
  EXPECT_FALSE(map.at("hand"));
  const std::string bad = write("bad_map.txt", "with_mask face\nhand person\n");
  try {
    read_voc_class_map(bad);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ":2"), std::string::npos) << e.what();
  }
}

TEST(Voc, SharedFaceMaskSetHasItsPublishedCounts) {
  const fs::path folder = fs::path(FACEKIT_SHARED_DIR) / "data" / "facemask" / "annotations";
  FACEKIT_REQUIRE_PATH(folder);
  const auto files = voc_annotation_files(folder.string());
  size_t boxes = 0;
  for (const auto& file : files) boxes += read_voc_annotation(file).objects.size();
  EXPECT_EQ(files.size(), 853u);
  EXPECT_EQ(boxes, 4072u);
}

}  // namespace
}  // namespace facekit
