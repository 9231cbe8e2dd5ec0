#include "datasets/formats/imdb_wiki.h"

#include <matio.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace facekit {
namespace {

namespace fs = std::filesystem;

// Days from 1970-01-01 to a proleptic Gregorian date, and back (H. Hinnant's civil calendar
// algorithms, http://howardhinnant.github.io/date_algorithms.html).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

long year_from_days(long z) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<long>(yoe) + era * 400 + (m <= 2);
}

// MATLAB's datenum 1 is 1 January of year 0.
const long kDatenumEpoch = days_from_civil(0, 1, 1) - 1;

struct MatFile {
  mat_t* file;
  ~MatFile() { Mat_Close(file); }
};
struct MatVar {
  matvar_t* var;
  ~MatVar() { Mat_VarFree(var); }
};

std::string error_in(const std::string& path, const std::string& field, const std::string& what) {
  return path + ": field '" + field + "': " + what;
}

// A numeric field as doubles (1 x N), checked against the expected length.
std::vector<double> doubles(matvar_t* root, const std::string& path, const char* name, size_t count) {
  matvar_t* field = Mat_VarGetStructFieldByName(root, name, 0);
  if (!field) throw std::runtime_error(error_in(path, name, "missing"));
  if (field->class_type != MAT_C_DOUBLE || field->rank != 2) throw std::runtime_error(error_in(path, name, "not a double array"));
  const size_t n = field->dims[0] * field->dims[1];
  if (count != 0 && n != count) {
    throw std::runtime_error(error_in(path, name, std::to_string(n) + " entries, expected " + std::to_string(count)));
  }
  const auto* data = static_cast<const double*>(field->data);
  return std::vector<double>(data, data + n);
}

std::string char_array(const matvar_t* var) {
  if (!var || var->class_type != MAT_C_CHAR) return "";
  const size_t n = var->dims[0] * var->dims[1];
  std::string text;
  if (var->data_size == 2) {  // UTF-16 code units: paths in IMDB-WIKI are ASCII
    const auto* units = static_cast<const uint16_t*>(var->data);
    for (size_t i = 0; i < n; ++i) text.push_back(static_cast<char>(units[i] < 128 ? units[i] : '?'));
  } else {
    text.assign(static_cast<const char*>(var->data), n);
  }
  return text;
}

std::vector<std::string> strings(matvar_t* root, const std::string& path, const char* name, size_t count) {
  matvar_t* field = Mat_VarGetStructFieldByName(root, name, 0);
  if (!field || field->class_type != MAT_C_CELL) throw std::runtime_error(error_in(path, name, "missing or not a cell array"));
  const size_t n = field->dims[0] * field->dims[1];
  if (n != count) throw std::runtime_error(error_in(path, name, std::to_string(n) + " entries, expected " + std::to_string(count)));
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    const matvar_t* cell = Mat_VarGetCell(field, static_cast<int>(i));
    if (!cell || cell->class_type != MAT_C_CHAR) {
      throw std::runtime_error(error_in(path, name, "entry " + std::to_string(i) + " is not text"));
    }
    out.push_back(char_array(cell));
  }
  return out;
}

}  // namespace

double matlab_datenum(int year, int month, int day) {
  return static_cast<double>(days_from_civil(year, month, day) - kDatenumEpoch);
}

int matlab_datevec_year(double datenum) {
  return static_cast<int>(year_from_days(static_cast<long>(std::floor(datenum)) + kDatenumEpoch));
}

FaceDataset read_imdb_wiki(const std::string& mat_path, const std::string& images_dir,
                           const std::vector<AgeInterval>& intervals, const ImdbWikiFilter& filter) {
  MatFile mat{Mat_Open(mat_path.c_str(), MAT_ACC_RDONLY)};
  if (!mat.file) throw std::runtime_error(mat_path + ": cannot open as a MATLAB .mat file");
  MatVar root{Mat_VarRead(mat.file, "imdb")};
  if (!root.var) root.var = Mat_VarRead(mat.file, "wiki");
  if (!root.var || root.var->class_type != MAT_C_STRUCT) {
    throw std::runtime_error(mat_path + ": no struct named 'imdb' or 'wiki'");
  }
  const auto dob = doubles(root.var, mat_path, "dob", 0);
  const size_t n = dob.size();
  const auto taken = doubles(root.var, mat_path, "photo_taken", n);
  const auto gender = doubles(root.var, mat_path, "gender", n);
  const auto face_score = doubles(root.var, mat_path, "face_score", n);
  const auto second_score = doubles(root.var, mat_path, "second_face_score", n);
  const auto paths = strings(root.var, mat_path, "full_path", n);
  const fs::path root_dir = images_dir.empty() ? fs::path(mat_path).parent_path() : fs::path(images_dir);

  FaceDataset dataset;
  for (size_t i = 0; i < n; ++i) {
    const auto skip = [&](const std::string& why) { dataset.skipped.push_back(paths[i] + ": " + why); };
    if (!(face_score[i] >= filter.min_face_score)) {
      skip("face score below " + std::to_string(filter.min_face_score));
      continue;
    }
    if (filter.single_face_only && !std::isnan(second_score[i])) {
      skip("a second face");
      continue;
    }
    if (!std::isfinite(dob[i]) || !std::isfinite(taken[i])) {
      skip("no date of birth or photo year");
      continue;
    }
    const int age = matlab_datevec_year(matlab_datenum(static_cast<int>(taken[i]), 7, 1) - dob[i]);
    if (age < filter.min_age || age > filter.max_age) {
      skip("age " + std::to_string(age) + " outside [" + std::to_string(filter.min_age) + ", " + std::to_string(filter.max_age) + "]");
      continue;
    }
    FaceSample sample;
    sample.image = (root_dir / paths[i]).string();
    sample.age = static_cast<float>(age);
    sample.age_interval = nearest_age_interval(intervals, sample.age);
    sample.gender = std::isnan(gender[i]) ? kUnknown : gender[i] > 0.5 ? kMale : kFemale;  // IMDB-WIKI: 1 male
    dataset.samples.push_back(std::move(sample));
  }
  return dataset;
}

}  // namespace facekit
