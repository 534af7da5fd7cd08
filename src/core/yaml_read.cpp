#include "core/yaml_read.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace bihuan::yamlr {

void bad(const YAML::Node& node, const std::string& path, const std::string& message) {
  std::string where = node.Mark().is_null() ? std::string() : "line " + std::to_string(node.Mark().line + 1) + ": ";
  fail(ErrorCode::invalid_argument, where + path + ": " + message, path);
}

YAML::Node require(const YAML::Node& map, const std::string& key, const std::string& path) {
  YAML::Node v = map[key];
  if (!v) bad(map, path.empty() ? key : path + "." + key, "missing required key");
  return v;
}

std::size_t first_bad_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return i;
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

std::string text(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) bad(n, path, "must be a text value");
  if (first_bad_utf8(n.Scalar()) != std::string_view::npos) bad(n, path, "is not UTF-8 text");
  return n.Scalar();
}

int integer(const YAML::Node& n, const std::string& path, int min, int max) {
  if (!n.IsScalar()) bad(n, path, "must be an integer");
  int v = 0;
  try {
    v = n.as<int>();
  } catch (const YAML::Exception&) {
    bad(n, path, "must be an integer, got '" + n.Scalar() + "'");
  }
  if (v < min || v > max)
    bad(n, path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

bool flag(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) bad(n, path, "must be true or false");
  try {
    return n.as<bool>();
  } catch (const YAML::Exception&) {
    bad(n, path, "must be true or false, got '" + n.Scalar() + "'");
  }
}

std::string key(const YAML::Node& k, const std::string& path) {
  if (!k.IsScalar()) bad(k, path, "keys must be text, not a mapping or a list");
  if (first_bad_utf8(k.Scalar()) != std::string_view::npos) bad(k, path, "keys must be UTF-8 text");
  return k.Scalar();
}

void check_keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed) {
  for (const auto& kv : map) {
    const std::string k = key(kv.first, path.empty() ? "(top level)" : path);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }))
      bad(kv.first, path.empty() ? k : path + "." + k, "unknown key");
  }
}

YAML::Node load(std::string_view text, std::string_view file) {
  if (first_bad_utf8(text) != std::string_view::npos)
    fail(ErrorCode::invalid_argument, std::string(file) + ": the file is not UTF-8 text", "file");
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    fail(ErrorCode::invalid_argument,
         std::string(file) + ": line " + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg, "file");
  }
}

}  // namespace bihuan::yamlr
