#include "core/area.hpp"

namespace bihuan {

namespace {
bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}
}  // namespace

std::optional<std::string> canonical_area_code(std::string_view code) {
  if (!all_digits(code)) return std::nullopt;
  std::string c(code);
  auto len = c.size();
  if (len != 2 && len != 4 && len != 6 && len != 9 && len != 12 && len != 15) return std::nullopt;
  // Drop trailing all-zero groups (a padded higher-level code), never below a province.
  auto strip = [&c](std::size_t to) {
    if (c.size() > to && c.find_first_not_of('0', to) == std::string::npos) c.resize(to);
  };
  if (c.size() == 15 && c.compare(12, 3, "000") == 0) c.resize(12);
  if (c.size() == 12) strip(9);
  if (c.size() == 9) strip(6);
  if (c.size() == 6) strip(4);
  if (c.size() == 4) strip(2);
  if (c == "00") return std::nullopt;
  return c;
}

std::optional<AreaLevel> area_level_of(std::string_view c) {
  switch (c.size()) {
    case 2: return AreaLevel::province;
    case 4: return AreaLevel::city;
    case 6: return AreaLevel::county;
    case 9: return AreaLevel::street;
    case 12: return AreaLevel::community;
    case 15: return AreaLevel::grid;
    default: return std::nullopt;
  }
}

std::string parent_area_code(std::string_view c) {
  switch (c.size()) {
    case 4: return std::string(c.substr(0, 2));
    case 6: return std::string(c.substr(0, 4));
    case 9: return std::string(c.substr(0, 6));
    case 12: return std::string(c.substr(0, 9));
    case 15: return std::string(c.substr(0, 12));
    default: return {};
  }
}

CodeRange subtree_range(std::string_view prefix) {
  CodeRange r{std::string(prefix), {}};
  if (prefix.empty()) return r;
  std::string hi(prefix);
  // Digits only, so the last character is at most '9' and ':' follows it in ASCII.
  hi.back() = static_cast<char>(hi.back() + 1);
  r.hi = std::move(hi);
  return r;
}

bool in_subtree(std::string_view code, std::string_view prefix) noexcept {
  return code.substr(0, prefix.size()) == prefix;
}

std::string gbt2260_code(std::string_view c) {
  std::string out(c.substr(0, std::min<std::size_t>(6, c.size())));
  out.resize(6, '0');
  return out;
}

}  // namespace bihuan
