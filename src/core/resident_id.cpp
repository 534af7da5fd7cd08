#include "core/resident_id.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

#include "core/error.hpp"

namespace bihuan {

namespace {

constexpr RegionCode kRegionCodes[] = {
#include "core/region_codes_data.inc"
};

bool digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// All rows of one code (a code can be retired and later reassigned).
std::pair<const RegionCode*, const RegionCode*> rows_of(std::string_view code) {
  const auto& all = region_codes();
  auto lo = std::lower_bound(all.begin(), all.end(), code,
                             [](const RegionCode& r, std::string_view c) { return r.code < c; });
  auto hi = std::upper_bound(lo, all.end(), code,
                             [](std::string_view c, const RegionCode& r) { return c < r.code; });
  if (lo == hi) return {nullptr, nullptr};
  return {&*lo, &*lo + (hi - lo)};
}

struct Parsed {
  std::string number;
  std::optional<ResidentId> id;
  std::string reason;
};

Parsed parse(std::string_view text, Date today) {
  Parsed out;
  std::string s(text);
  // Trim surrounding blanks, which spreadsheets often leave.
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  s.erase(0, s.find_first_not_of(" \t") == std::string::npos ? s.size() : s.find_first_not_of(" \t"));
  if (s.size() == 18 && s.back() == 'x') s.back() = 'X';
  if (s.size() == 15) {
    if (!digits(s)) {
      out.reason = "a 15-character number must be all digits";
      return out;
    }
    // First-generation number: 6-digit region, YYMMDD (19YY), 3-digit sequence; no check character.
    std::string upgraded = s.substr(0, 6) + "19" + s.substr(6);
    upgraded.push_back(resident_id_check_char(upgraded));
    s = upgraded;
  } else if (s.size() != 18) {
    out.reason = "must be 18 characters (or a 15-digit first-generation number), got " +
                 std::to_string(s.size());
    return out;
  }
  out.number = s;
  if (!digits(std::string_view(s).substr(0, 17))) {
    out.reason = "the first 17 characters must be digits";
    return out;
  }
  char last = s[17];
  if (!((last >= '0' && last <= '9') || last == 'X')) {
    out.reason = "the last character must be a digit or X";
    return out;
  }
  std::string_view sv(s);
  std::string region(sv.substr(0, 6));
  auto [first, end] = rows_of(region);
  std::string unlisted_warning;
  if (!first) {
    // Some early codes (e.g. 140120 太原市市区) are missing from every published list; accept
    // an unlisted county code when its prefecture is known, with a warning.
    std::string prefecture = region.substr(0, 4) + "00";
    std::tie(first, end) = rows_of(prefecture);
    if (!first || region.compare(4, 2, "00") == 0) {
      out.reason = "unknown address code " + region;
      return out;
    }
    unlisted_warning = "address code " + region + " is not in the GB/T 2260 lists of 1981-2024; prefecture " +
                       std::string((end - 1)->name) + " is";
  }
  int y = to_int(sv.substr(6, 4)), m = to_int(sv.substr(10, 2)), d = to_int(sv.substr(12, 2));
  Date birth{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
             std::chrono::day{static_cast<unsigned>(d)}};
  if (!birth.ok() || y < 1800) {
    out.reason = "invalid birth date " + std::string(sv.substr(6, 8));
    return out;
  }
  if (std::chrono::sys_days{birth} > std::chrono::sys_days{today}) {
    out.reason = "birth date " + format_date(birth) + " is in the future";
    return out;
  }
  char expected = resident_id_check_char(sv.substr(0, 17));
  if (expected != last) {
    out.reason = std::string("wrong check character: expected ") + expected + ", got " + last;
    return out;
  }
  ResidentId id;
  id.number = s;
  id.birth_date = birth;
  id.sex = (to_int(sv.substr(16, 1)) % 2 == 1) ? Sex::male : Sex::female;
  id.region_code = region;
  // The name in use at the birth year if there is one, else the latest.
  const RegionCode* named = y < first->start_year ? first : end - 1;
  int earliest = first->start_year, latest_end = 0;
  bool open_ended = false;
  for (const auto* r = first; r != end; ++r) {
    if (r->start_year <= y && (r->end_year == 0 || y < r->end_year)) named = r;
    earliest = std::min(earliest, r->start_year);
    if (r->end_year == 0) open_ended = true;
    latest_end = std::max(latest_end, r->end_year);
  }
  id.region_name = std::string(named->name);
  // The lists start in 1981, so only a code created later can be compared with the birth year.
  // Either way it is a warning, not an error: numbers issued after a reorganisation keep the
  // code of the office that issued them.
  if (!unlisted_warning.empty()) id.warnings.push_back(unlisted_warning);
  if (earliest > 1981 && y < earliest)
    id.warnings.push_back("address code " + region + " came into use in " + std::to_string(earliest) +
                          ", after the birth year " + std::to_string(y));
  if (!open_ended && y >= latest_end)
    id.warnings.push_back("address code " + region + " was retired in " + std::to_string(latest_end) +
                          ", before the birth year " + std::to_string(y));
  out.id = std::move(id);
  return out;
}

}  // namespace

const std::vector<RegionCode>& region_codes() {
  static const std::vector<RegionCode> table(std::begin(kRegionCodes), std::end(kRegionCodes));
  return table;
}

const RegionCode* find_region_code(std::string_view code) {
  auto [first, end] = rows_of(code);
  if (!first) return nullptr;
  for (const auto* r = first; r != end; ++r)
    if (r->end_year == 0) return r;
  return end - 1;
}

char resident_id_check_char(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kChars[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (std::size_t i = 0; i < 17 && i < first17.size(); ++i) sum += (first17[i] - '0') * kWeights[i];
  return kChars[sum % 11];
}

ResidentId parse_resident_id(std::string_view text, Date today, std::string_view field) {
  auto p = parse(text, today);
  if (!p.id) fail(ErrorCode::invalid_argument, "invalid resident ID number: " + p.reason, std::string(field));
  return std::move(*p.id);
}

std::optional<std::string> resident_id_error(std::string_view text, Date today) {
  auto p = parse(text, today);
  if (p.id) return std::nullopt;
  return p.reason;
}

std::string normalise_doc_number(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  if (out.size() == 18 && out.back() == 'x') out.back() = 'X';
  return out;
}

}  // namespace bihuan
