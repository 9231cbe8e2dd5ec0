// Darknet .cfg files: sections of `key=value` options, parsed as Darknet's
// src/parser.c read_cfg() and src/option_list.c do, with every read recorded
// so that keys nobody read can be reported (Darknet's option_unused()).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace facekit::darknet {

// One `key=value` line. `used` is set by the getters; unread keys are warned about once.
struct CfgOption {
  std::string value;
  int line = 0;
  mutable bool used = false;
};

// One `[section]` and its options, with the file and line it came from for error messages.
class CfgSection {
 public:
  CfgSection(std::string type, std::string file, int line);

  const std::string& type() const { return type_; }
  const std::string& file() const { return file_; }
  int line() const { return line_; }

  // Adds an option; a repeated key keeps the first value, as Darknet's option_find() does.
  // Returns false for a repeat.
  bool add(const std::string& key, const std::string& value, int line);
  bool has(const std::string& key) const;
  // Replaces (or adds) a value, keeping the original line for messages.
  void set(const std::string& key, const std::string& value);

  // Typed getters with a default: a malformed value throws with file, line and key.
  int get_int(const std::string& key, int fallback) const;
  float get_float(const std::string& key, float fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<int> get_ints(const std::string& key) const;    // "1, 2,3" -> {1,2,3}; absent -> {}
  std::vector<float> get_floats(const std::string& key) const;
  // Required key: throws when absent.
  int require_int(const std::string& key) const;

  // Keys that were never read, with their lines.
  std::vector<std::pair<std::string, int>> unused_keys() const;

  // "FILE:LINE: [type]" for messages about this section.
  std::string where() const;
  std::string where(const std::string& key) const;  // "FILE:LINE: key"

 private:
  const CfgOption* find(const std::string& key) const;

  std::string type_;
  std::string file_;
  int line_;
  std::map<std::string, CfgOption> options_;
};

struct CfgFile {
  std::string path;
  std::vector<CfgSection> sections;
  std::vector<std::string> warnings;  // repeated keys, each with file and line
};

// Parses cfg text. Comments (#, ;), blank lines, spaces around '=', CRLF endings are accepted;
// an option before the first section, a line without '=' or an unclosed '[' throws with file and line.
CfgFile parse_cfg_text(const std::string& text, const std::string& path);
CfgFile parse_cfg_file(const std::string& path);

}  // namespace facekit::darknet
