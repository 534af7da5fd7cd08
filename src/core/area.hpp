#pragma once
// Area codes. Statistical division codes are hierarchical by position: 2 digits province,
// 2 city, 2 county, 3 street/township, 3 community/village; bihuan appends 3 digits for a grid.
// A code's *prefix* (trailing zero groups dropped) names its whole subtree, so "everything in
// county 110105" is every code starting with "110105": jurisdiction scope is a range query.
#include <optional>
#include <string>
#include <string_view>

#include "core/model.hpp"

namespace bihuan {

// The canonical stored form: 2, 4, 6, 9, 12 or 15 digits for levels province..grid.
// Accepts padded forms ("110105000000" -> "110105", "110000" -> "11"); nullopt if malformed.
std::optional<std::string> canonical_area_code(std::string_view code);
// Level of a canonical code, from its length.
std::optional<AreaLevel> area_level_of(std::string_view canonical_code);
// Parent of a canonical code ("" for a province).
std::string parent_area_code(std::string_view canonical_code);
// Half-open range [lo, hi) of canonical codes inside the subtree of `prefix` (itself included):
// lo = prefix, hi = prefix with its last character incremented. Empty prefix = everything.
struct CodeRange {
  std::string lo;
  std::string hi;  // empty = unbounded
};
CodeRange subtree_range(std::string_view prefix);
bool in_subtree(std::string_view code, std::string_view prefix) noexcept;
// Six-digit county-level code of any canonical code of county level or below, padded for
// provinces and cities ("11" -> "110000"): the form resident ID numbers carry.
std::string gbt2260_code(std::string_view canonical_code);

}  // namespace bihuan
