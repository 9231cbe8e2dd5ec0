// Small text helpers the line-based readers share (cfg, .data, label lists, face CSVs).
#pragma once

#include <string>

namespace facekit {

// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
inline std::string trimmed(const std::string& s) {
  const char* space = " \t\r\n";
  const auto begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

}  // namespace facekit
