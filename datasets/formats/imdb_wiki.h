// IMDB-WIKI (Rothe, Timofte and Van Gool, "DEX", 2015): `imdb.mat` / `wiki.mat`, a MATLAB struct
// named `imdb` or `wiki` with one entry per photo: dob (MATLAB datenum), photo_taken (year),
// full_path (cell of relative paths), gender (1 male, 0 female, NaN unknown), face_score (-Inf
// when no face was found), second_face_score (NaN when there is only one face). Read with libmatio.
//
// Age follows the dataset's own recipe, `[age,~] = datevec(datenum(photo_taken,7,1) - dob)`: the
// photo is assumed taken on 1 July. The `*_crop` sets are face crops with a 40 % margin: the whole
// image is the face (like UTKFace).
#pragma once

#include <string>
#include <vector>

#include "datasets/formats/face_labels.h"

namespace facekit {

struct ImdbWikiFilter {
  double min_face_score = 1.0;        // the usual cleaning (DEX's own training used high scores)
  bool single_face_only = true;       // drop photos with a second face (second_face_score not NaN)
  int min_age = 0, max_age = 100;
};

// Images under `images_dir` (default: the .mat's folder). Entries failing the filter are skipped
// with the reason; a malformed file throws naming it and the field.
FaceDataset read_imdb_wiki(const std::string& mat_path, const std::string& images_dir,
                           const std::vector<AgeInterval>& intervals, const ImdbWikiFilter& filter = {});

// MATLAB's year of `datevec(datenum)` for a day count (proleptic Gregorian, datenum 1 = 1 Jan 0000).
int matlab_datevec_year(double datenum);
double matlab_datenum(int year, int month, int day);

}  // namespace facekit
