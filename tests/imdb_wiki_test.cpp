// IMDB-WIKI metadata: a .mat written by SciPy (an independent MATLAB writer) in the dataset's own
// layout, read back with the dataset's age recipe and filters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "datasets/formats/imdb_wiki.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

TEST(ImdbWiki, MatlabDates) {
  EXPECT_EQ(matlab_datenum(0, 1, 1), 1);           // MATLAB's epoch
  EXPECT_EQ(matlab_datenum(2000, 1, 1), 730486);   // datenum(2000,1,1) in MATLAB
  EXPECT_EQ(matlab_datevec_year(730486), 2000);
  EXPECT_EQ(matlab_datevec_year(730485), 1999);
  // Born 1 July 1980, photo 2010: datevec(10957) is 0029-12-30, so the recipe says 29.
  EXPECT_EQ(matlab_datevec_year(matlab_datenum(2010, 7, 1) - matlab_datenum(1980, 7, 1)), 29);
  EXPECT_EQ(matlab_datevec_year(matlab_datenum(2010, 7, 1) - matlab_datenum(1980, 6, 1)), 30);
}

TEST(ImdbWiki, ReadsTheDatasetLayoutAndFilters) {
  const fs::path dir = fs::temp_directory_path() / ("facekit_imdb_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string mat = (dir / "wiki.mat").string();
  // Five photos: kept (male, 29), kept (female, 30), no face (-inf), second face, unknown gender kept.
  const std::string script =
      "import numpy as np, scipy.io as sio\n"
      "def dn(y, m, d):\n"
      "    import datetime\n"
      "    return datetime.date(y, m, d).toordinal() + 366\n"
      "paths = np.empty((1, 5), dtype=object)\n"
      "for i, p in enumerate(['17/10000217_1981-05-05_2009.jpg', '48/a.jpg', '12/b.jpg', '12/c.jpg', '12/d.jpg']):\n"
      "    paths[0, i] = p\n"
      "wiki = {'dob': np.array([[dn(1980,7,1), dn(1980,6,1), dn(1970,1,1), dn(1970,1,1), dn(1990,1,1)]], float),\n"
      "        'photo_taken': np.array([[2010, 2010, 2000, 2000, 2000]], float),\n"
      "        'full_path': paths,\n"
      "        'gender': np.array([[1.0, 0.0, 1.0, 1.0, np.nan]]),\n"
      "        'face_score': np.array([[4.5, 2.0, -np.inf, 3.0, 1.5]]),\n"
      "        'second_face_score': np.array([[np.nan, np.nan, np.nan, 2.0, np.nan]])}\n"
      "sio.savemat('" + mat + "', {'wiki': wiki})\n";
  std::ofstream(dir / "make.py") << script;
  ASSERT_EQ(std::system(("/usr/bin/python3 " + (dir / "make.py").string()).c_str()), 0) << "python3-scipy missing?";
  const auto set = read_imdb_wiki(mat, "", adience_intervals());
  ASSERT_EQ(set.samples.size(), 3u);
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_EQ(set.samples[0].image, (dir / "17/10000217_1981-05-05_2009.jpg").string());
  EXPECT_EQ(set.samples[0].age, 29);
  EXPECT_EQ(set.samples[0].gender, kMale);
  EXPECT_EQ(set.samples[1].age, 30);
  EXPECT_EQ(set.samples[1].gender, kFemale);
  EXPECT_EQ(set.samples[2].age, 10);
  EXPECT_EQ(set.samples[2].gender, kUnknown);
  EXPECT_NE(set.skipped[0].find("face score"), std::string::npos);
  EXPECT_NE(set.skipped[1].find("second face"), std::string::npos);

  std::ofstream(dir / "bad.mat") << "not a mat file";
  try {
    read_imdb_wiki((dir / "bad.mat").string(), "", adience_intervals());
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.mat"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace facekit
