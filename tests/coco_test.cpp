// COCO detection json: a hand-written file (boxes, crowds, categories) and errors that name the
// file and the JSON position.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "datasets/formats/coco.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = (fs::temp_directory_path() / ("facekit_coco_" + std::to_string(::getpid()) + "_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    read_coco(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

const char* kCategories = R"("categories": [{"id": 1, "name": "face"}, {"id": 3, "name": "hand"}])";

std::string dataset(const std::string& annotations) {
  return std::string("{") + kCategories +
         R"(, "images": [{"id": 7, "file_name": "a/1.jpg", "width": 640, "height": 480}, {"id": 9, "file_name": "2.jpg"}],
            "annotations": [)" + annotations + "]}";
}

TEST(Coco, BoxesCrowdsAndCategories) {
  const std::string path = write_temp("ok.json", dataset(R"(
      {"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 20.5, 30, 40], "iscrowd": 0},
      {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1},
      {"id": 3, "image_id": 9, "category_id": 3, "bbox": [1, 2, 3, 4]})"));
  const CocoDataset d = read_coco(path);
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[0].file_name, "a/1.jpg");
  EXPECT_EQ(d.images[0].width, 640);
  EXPECT_EQ(d.images[1].width, 0);
  ASSERT_EQ(d.annotations.size(), 3u);
  EXPECT_FLOAT_EQ(d.annotations[0].box.x1, 10.f);
  EXPECT_FLOAT_EQ(d.annotations[0].box.y1, 20.5f);
  EXPECT_FLOAT_EQ(d.annotations[0].box.x2, 40.f);   // x + w: COCO has no 1-pixel shift
  EXPECT_FLOAT_EQ(d.annotations[0].box.y2, 60.5f);
  EXPECT_FALSE(d.annotations[0].iscrowd);
  EXPECT_TRUE(d.annotations[1].iscrowd);
  EXPECT_FALSE(d.annotations[2].iscrowd);
  EXPECT_EQ(coco_face_category(d, "", path), 1);
  EXPECT_EQ(coco_face_category(d, "hand", path), 3);
  EXPECT_EQ(coco_face_category(d, "3", path), 3);
  try {
    coco_face_category(d, "person", path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("3 'hand'"), std::string::npos) << e.what();
  }
  fs::remove(path);
}

TEST(Coco, ErrorsNameFileAndJsonPosition) {
  const auto expect = [](const std::string& name, const std::string& text, const std::string& what) {
    const std::string path = write_temp(name, text);
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path + ": " + what), std::string::npos) << message;
    fs::remove(path);
  };
  const std::string good = R"({"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4]})";
  expect("bbox3.json", dataset(good + R"(, {"image_id": 7, "category_id": 1, "bbox": [1, 2, 3]})"),
         "annotations[1].bbox: expected [x, y, width, height]");
  expect("bboxstr.json", dataset(R"({"image_id": 7, "category_id": 1, "bbox": [1, "2", 3, 4]})"),
         "annotations[0].bbox: expected 4 numbers");
  expect("negative.json", dataset(R"({"image_id": 7, "category_id": 1, "bbox": [1, 2, -3, 4]})"),
         "annotations[0].bbox: negative width or height");
  expect("noimage.json", dataset(R"({"image_id": 8, "category_id": 1, "bbox": [1, 2, 3, 4]})"),
         "annotations[0].image_id: no image has id 8");
  expect("nocat.json", dataset(R"({"image_id": 7, "category_id": 2, "bbox": [1, 2, 3, 4]})"),
         "annotations[0].category_id: no category has id 2");
  expect("nobbox.json", dataset(R"({"image_id": 7, "category_id": 1})"), "annotations[0]: missing \"bbox\"");
  expect("idtype.json", dataset(R"({"image_id": "7", "category_id": 1, "bbox": [1, 2, 3, 4]})"),
         "annotations[0].image_id: expected an integer, found \"7\"");
  expect("noimages.json", std::string("{") + kCategories + R"(, "annotations": []})", "top level: missing \"images\"");
  expect("array.json", "[1, 2]", "top level: expected an object");
  expect("syntax.json", "{\"images\": [\n{\"id\": 1,,}]}", "not valid JSON");
  expect("dupe.json", std::string("{") + kCategories + R"(, "annotations": [], "images": [{"id": 1, "file_name": "a"}, {"id": 1, "file_name": "b"}]})",
         "images[1].id: duplicate image id 1");
}

TEST(Coco, SyntaxErrorsSayWhere) {
  const std::string path = write_temp("where.json", "{\"images\": [\n{\"id\": 1,,}]}");
  const std::string message = error_of(path);
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;  // nlohmann's position
  fs::remove(path);
}

}  // namespace
}  // namespace facekit
