#include "datasets/formats/face_labels.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "datasets/formats/imdb_wiki.h"
#include "datasets/text.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, separator)) fields.push_back(trimmed(field));
  if (!line.empty() && line.back() == separator) fields.emplace_back();
  return fields;
}

// A whole-string number, or throws std::invalid_argument.
float parse_number(const std::string& text) {
  size_t used = 0;
  float value = 0;
  try {
    value = std::stof(text, &used);
  } catch (const std::logic_error&) {  // stof's own messages do not say what it read
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value)) throw std::invalid_argument("'" + text + "' (not a number)");
  return value;
}

std::ifstream open_or_throw(const std::string& path, const char* what) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open " + what);
  return file;
}

void set_age(FaceSample* sample, float age, const std::vector<AgeInterval>& intervals) {
  sample->age = age;
  sample->age_interval = nearest_age_interval(intervals, age);
}

// UTKFace: AGE_GENDER_RACE_DATETIME.jpg; a name with a field missing is malformed.
std::optional<FaceSample> utkface_sample(const fs::path& path, const std::vector<AgeInterval>& intervals) {
  static const std::regex name(R"((\d{1,3})_([01])_([0-4])_(\d+)\.jpg(\.chip\.jpg)?)");
  std::smatch m;
  const std::string file = path.filename().string();
  if (!std::regex_match(file, m, name)) return std::nullopt;
  FaceSample sample;
  sample.image = path.string();
  sample.gender = std::stoi(m[2].str());
  set_age(&sample, std::stof(m[1].str()), intervals);
  return sample;
}

}  // namespace

int parse_gender(const std::string& text) {
  std::string t = trimmed(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "m" || t == "male" || t == "0") return kMale;
  if (t == "f" || t == "female" || t == "1") return kFemale;
  if (t.empty() || t == "u" || t == "not sure" || t == "unknown" || t == "none") return kUnknown;
  throw std::invalid_argument("gender '" + text + "' (expected M/F, Male/Female or 0/1)");
}

FaceDataset read_utkface(const std::string& images_dir, const std::string& split_file,
                         const std::vector<AgeInterval>& intervals) {
  std::vector<fs::path> files;
  if (split_file.empty()) {
    if (!fs::is_directory(images_dir)) throw std::runtime_error(images_dir + ": not a folder of UTKFace images");
    for (const auto& entry : fs::directory_iterator(images_dir)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".png")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    auto list = open_or_throw(split_file, "the UTKFace split file");
    std::string line;
    while (std::getline(list, line)) {
      line = trimmed(line);
      if (!line.empty()) files.push_back(fs::path(images_dir) / line);
    }
  }
  FaceDataset dataset;
  for (const auto& file : files) {
    if (auto sample = utkface_sample(file, intervals)) {
      dataset.samples.push_back(std::move(*sample));
    } else {
      dataset.skipped.push_back(file.filename().string() + ": not AGE_GENDER_RACE_DATETIME.jpg");
    }
  }
  return dataset;
}

FaceDataset read_face_csv(const std::string& csv_path, const std::string& images_dir,
                          const std::vector<AgeInterval>& intervals) {
  auto file = open_or_throw(csv_path, "the face CSV");
  fs::path root = images_dir;
  if (root.empty()) root = fs::path(csv_path).parent_path();
  FaceDataset dataset;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = trimmed(line);
    if (line.empty() || line[0] == '#') continue;
    const auto fields = split(line, ',');
    if (number == 1 && !fields.empty() && fields[0] == "image") continue;  // header
    const std::string where = csv_path + ":" + std::to_string(number) + ": ";
    if (fields.size() != 3 && fields.size() != 7) {
      throw std::runtime_error(where + "expected 'image,age,gender' or 'image,age,gender,x,y,w,h', found " +
                               std::to_string(fields.size()) + " fields");
    }
    FaceSample sample;
    fs::path image = root / fields[0];
    if (images_dir.empty() && !fs::exists(image) && fs::exists(root / "images" / fields[0])) image = root / "images" / fields[0];
    sample.image = image.string();
    try {
      if (!fields[1].empty()) set_age(&sample, parse_number(fields[1]), intervals);
      sample.gender = parse_gender(fields[2]);
      if (fields.size() == 7) {
        const float x = parse_number(fields[3]), y = parse_number(fields[4]);
        const float w = parse_number(fields[5]), h = parse_number(fields[6]);
        if (w <= 0 || h <= 0) throw std::invalid_argument("box " + fields[5] + "x" + fields[6] + " has no area");
        sample.face = Box{x, y, x + w, y + h};
      }
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + "cannot read " + e.what());
    }
    if (sample.age < 0 && !fields[1].empty()) throw std::runtime_error(where + "negative age " + fields[1]);
    dataset.samples.push_back(std::move(sample));
  }
  return dataset;
}

namespace {

// Adience's age column: "(25, 32)", an exact "35", or "None". An interval outside the list (a few
// fold files have "(8, 23)", "(38, 42)"...) goes to the interval nearest its midpoint.
void set_adience_age(FaceSample* sample, const std::string& text, const std::vector<AgeInterval>& intervals) {
  if (text == "None" || text.empty()) return;
  static const std::regex interval(R"(\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\))");  // longer: not an age
  std::smatch m;
  if (std::regex_match(text, m, interval)) {
    const AgeInterval given{std::stoi(m[1].str()), std::stoi(m[2].str())};
    sample->age_interval = nearest_age_interval(intervals, given.midpoint());
    for (size_t i = 0; i < intervals.size(); ++i) {
      if (intervals[i].low == given.low && intervals[i].high == given.high) sample->age_interval = static_cast<int>(i);
    }
    return;
  }
  set_age(sample, parse_number(text), intervals);
}

}  // namespace

FaceDataset read_adience_fold(const std::string& fold_path, const std::string& root_dir,
                              const std::vector<AgeInterval>& intervals) {
  auto file = open_or_throw(fold_path, "the Adience fold file");
  const fs::path root = root_dir.empty() ? fs::path(fold_path).parent_path() : fs::path(root_dir);
  const bool aligned = fs::is_directory(root / "aligned");
  const std::string prefix = aligned ? "landmark_aligned_face." : "coarse_tilt_aligned_face.";
  FaceDataset dataset;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (trimmed(line).empty() || (number == 1 && line.rfind("user_id", 0) == 0)) continue;
    const auto fields = split(line, '\t');
    const std::string where = fold_path + ":" + std::to_string(number) + ": ";
    constexpr size_t kMinFields = 5;  // user_id original_image face_id age gender [x y dx dy ...]
    if (fields.size() < kMinFields) {
      throw std::runtime_error(where + "expected tab-separated user_id, original_image, face_id, age, gender, ...");
    }
    FaceSample sample;
    sample.image = (root / (aligned ? "aligned" : "faces") / fields[0] / (prefix + fields[2] + "." + fields[1])).string();
    try {
      set_adience_age(&sample, fields[3], intervals);
      sample.gender = parse_gender(fields[4]);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + "cannot read " + e.what());
    }
    if (sample.age_interval == kUnknown && sample.gender == kUnknown) {
      dataset.skipped.push_back(where + "neither age nor gender");
      continue;
    }
    dataset.samples.push_back(std::move(sample));
  }
  return dataset;
}

FaceDataset read_face_dataset(const std::string& spec, const std::string& split, const std::string& images_dir,
                              const std::vector<AgeInterval>& intervals) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) throw std::invalid_argument("dataset '" + spec + "' must be FORMAT:PATH");
  const std::string format = spec.substr(0, colon), path = spec.substr(colon + 1);
  if (format == "utkface") {
    std::string dir = images_dir.empty() ? path : images_dir;
    if (images_dir.empty() && fs::is_directory(fs::path(path) / "images")) dir = (fs::path(path) / "images").string();
    return read_utkface(dir, split, intervals);
  }
  if (format == "aaf" || format == "csv") return read_face_csv(path, images_dir, intervals);
  if (format == "adience") {
    FaceDataset all = read_adience_fold(path, images_dir, intervals);
    std::stringstream more(split);
    for (std::string fold; std::getline(more, fold, ',');) {
      FaceDataset extra = read_adience_fold(trimmed(fold), images_dir.empty() ? fs::path(path).parent_path().string() : images_dir, intervals);
      all.samples.insert(all.samples.end(), extra.samples.begin(), extra.samples.end());
      all.skipped.insert(all.skipped.end(), extra.skipped.begin(), extra.skipped.end());
    }
    return all;
  }
  if (format == "imdbwiki") return read_imdb_wiki(path, images_dir, intervals);
  throw std::invalid_argument("dataset format '" + format + "' (expected utkface, aaf, csv, adience or imdbwiki)");
}

}  // namespace facekit
