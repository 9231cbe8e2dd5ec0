// Age intervals: the classifier predicts one of them. The default is Adience's eight (Levi and
// Hassner, "Age and Gender Classification using CNNs", 2015); the list is configurable and travels
// in every classifier checkpoint.
#pragma once

#include <string>
#include <vector>

namespace facekit {

struct AgeInterval {
  int low = 0, high = 0;  // inclusive years
  std::string label() const;           // "(25, 32)", as the original project draws it
  float midpoint() const { return (low + high) / 2.f; }
};

std::vector<AgeInterval> adience_intervals();  // (0, 2) (4, 6) (8, 12) (15, 20) (25, 32) (38, 43) (48, 53) (60, 100)

// "(0, 2) (4, 6) ..." or "0-2,4-6,..."; intervals must be increasing and disjoint. Throws naming
// the offending part.
std::vector<AgeInterval> parse_age_intervals(const std::string& text);
std::string format_age_intervals(const std::vector<AgeInterval>& intervals);  // "(0, 2) (4, 6) ..."

// The interval an exact age belongs to: the one containing it, else the nearest by distance to its
// ends, ties to the lower (data/README: "an exact age between two intervals maps to the nearest").
int nearest_age_interval(const std::vector<AgeInterval>& intervals, float age);

}  // namespace facekit
