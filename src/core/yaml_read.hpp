#pragma once
// Small readers for the YAML data files (policy profiles, playbooks): each failure is an Error
// (invalid_argument) naming the line and the key path, e.g. "line 12: tasks[2].owner: unknown
// role 'nurse'", with the key path as the error's field.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace bihuan::yamlr {

[[noreturn]] void bad(const YAML::Node& node, const std::string& path, const std::string& message);
// map[key], or an error "missing required key".
YAML::Node require(const YAML::Node& map, const std::string& key, const std::string& path);
// A scalar holding well-formed UTF-8.
std::string text(const YAML::Node& n, const std::string& path);
// An integer in [min, max].
int integer(const YAML::Node& n, const std::string& path, int min, int max);
bool flag(const YAML::Node& n, const std::string& path);
// A mapping key as text; a key that is itself a mapping or a list (`{a: b}: 1`) is an error.
std::string key(const YAML::Node& key, const std::string& path);
// Every key of `map` is one of `allowed` (and is text).
void check_keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed);
// Offset of the first byte of `s` that is not well-formed UTF-8, or npos.
std::size_t first_bad_utf8(std::string_view s);
// Parses a whole document; a syntax error names its line.
YAML::Node load(std::string_view text, std::string_view file);

}  // namespace bihuan::yamlr
