#include "datasets/age_intervals.h"

#include <cmath>
#include <limits>
#include <regex>
#include <stdexcept>

namespace facekit {

std::string AgeInterval::label() const { return "(" + std::to_string(low) + ", " + std::to_string(high) + ")"; }

std::vector<AgeInterval> adience_intervals() {
  return {{0, 2}, {4, 6}, {8, 12}, {15, 20}, {25, 32}, {38, 43}, {48, 53}, {60, 100}};
}

constexpr size_t kMaxAgeDigits = 3;  // also keeps std::stoi from overflowing on hostile input

std::vector<AgeInterval> parse_age_intervals(const std::string& text) {
  // Either form: "(a, b)" groups or "a-b" items separated by commas/spaces.
  static const std::regex interval(R"(\(\s*(\d+)\s*,\s*(\d+)\s*\)|(\d+)\s*-\s*(\d+))");
  std::vector<AgeInterval> intervals;
  std::string rest;
  size_t last = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), interval); it != std::sregex_iterator(); ++it) {
    rest += text.substr(last, it->position() - last);
    last = it->position() + it->length();
    const auto& m = *it;
    const std::string low_text = m[1].matched ? m[1].str() : m[3].str(), high_text = m[2].matched ? m[2].str() : m[4].str();
    if (low_text.size() > kMaxAgeDigits || high_text.size() > kMaxAgeDigits) {
      throw std::invalid_argument("age interval '" + m.str() + "': not an age in years");
    }
    const int low = std::stoi(low_text), high = std::stoi(high_text);
    if (low > high) throw std::invalid_argument("age interval '" + m.str() + "': the lower end is above the upper");
    if (!intervals.empty() && low <= intervals.back().high) {
      throw std::invalid_argument("age interval '" + m.str() + "' overlaps or precedes the one before it");
    }
    intervals.push_back({low, high});
  }
  rest += text.substr(last);
  if (rest.find_first_not_of(" ,;\t") != std::string::npos) {
    throw std::invalid_argument("age intervals '" + text + "': cannot read '" + rest + "' (expected '(0, 2) (4, 6) ...' or '0-2,4-6')");
  }
  if (intervals.empty()) throw std::invalid_argument("age intervals '" + text + "': none given");
  return intervals;
}

std::string format_age_intervals(const std::vector<AgeInterval>& intervals) {
  std::string text;
  for (const auto& i : intervals) text += (text.empty() ? "" : " ") + i.label();
  return text;
}

int nearest_age_interval(const std::vector<AgeInterval>& intervals, float age) {
  if (intervals.empty()) throw std::invalid_argument("nearest_age_interval: no intervals");
  if (!std::isfinite(age)) throw std::invalid_argument("nearest_age_interval: age is not a number");
  int best = 0;
  float best_distance = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < intervals.size(); ++i) {
    const float distance = age < intervals[i].low ? intervals[i].low - age : age > intervals[i].high ? age - intervals[i].high : 0;
    if (distance < best_distance) {  // strict: a tie keeps the lower interval
      best_distance = distance;
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace facekit
