// Face datasets labelled with age and gender, each in its own original layout, read into one
// FaceSample list. Loaders check labels, not images: an image that fails to decode is skipped and
// counted where it is read (the trainer, the evaluator).
//
//   UTKFace      names `AGE_GENDER_RACE_DATETIME.jpg` (gender 0 male, 1 female), aligned crops:
//                the whole image is the face. Malformed names are skipped with a warning.
//   CSV          `image,age,gender[,x,y,w,h]`, optional header; All-Age-Faces' faces.csv is one.
//                gender: M/F, Male/Female, 0/1 (0 male); age may be empty (unknown).
//   Adience      fold_N_data.txt (tab separated, Levi and Hassner 2015) beside `aligned/` or
//                `faces/`; ages are intervals like "(25, 32)" or exact years; "None" is unknown.
//   IMDB-WIKI    see imdb_wiki.h (the .mat metadata).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datasets/age_intervals.h"
#include "datasets/box.h"

namespace facekit {

constexpr int kUnknown = -1;
enum Gender : int { kMale = 0, kFemale = 1 };

struct FaceSample {
  std::string image;           // path as it can be opened
  float age = kUnknown;        // years, or kUnknown (Adience labels most faces with an interval only)
  int age_interval = kUnknown; // index into the dataset's intervals
  int gender = kUnknown;       // kMale, kFemale or kUnknown
  std::optional<Box> face;     // pixels; none: the whole image is the face
};

struct FaceDataset {
  std::vector<FaceSample> samples;
  std::vector<std::string> skipped;  // one line per entry left out, with the reason
};

// `split_file` (one file name a line) selects images; empty: every .jpg/.png in the folder, sorted.
FaceDataset read_utkface(const std::string& images_dir, const std::string& split_file,
                         const std::vector<AgeInterval>& intervals);

// Image paths relative to `images_dir` (default: the CSV's folder, then its `images/`).
FaceDataset read_face_csv(const std::string& csv_path, const std::string& images_dir,
                          const std::vector<AgeInterval>& intervals);

// One Adience fold file; images under `root` (default: the fold file's folder), in `aligned/` if
// present, else `faces/`.
FaceDataset read_adience_fold(const std::string& fold_path, const std::string& root,
                              const std::vector<AgeInterval>& intervals);

// A dataset named on the command line as FORMAT:PATH:
//   utkface:DIR      DIR or DIR/images holds the images; `split` lists the ones to use
//   aaf:CSV, csv:CSV  the CSV loader (All-Age-Faces' faces.csv is a CSV with boxes)
//   adience:FOLD     one fold_N_data.txt; `split` may name more folds, comma-separated
//   imdbwiki:MAT     imdb.mat or wiki.mat (default filters, see imdb_wiki.h)
// `images_dir` overrides where images are looked for.
FaceDataset read_face_dataset(const std::string& spec, const std::string& split, const std::string& images_dir,
                              const std::vector<AgeInterval>& intervals);

// "M", "Male", "m", "0" -> kMale; "F", "Female", "f", "1" -> kFemale; "u", "Not Sure", "" -> kUnknown.
// Anything else throws.
int parse_gender(const std::string& text);

}  // namespace facekit
