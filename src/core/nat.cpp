#include "core/nat.hpp"

#include <algorithm>

namespace bihuan::nat {

bool valid_barcode(std::string_view s) noexcept {
  if (s.size() < 4 || s.size() > 40) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_ratio(int ratio) noexcept { return ratio == 1 || ratio == 5 || ratio == 10 || ratio == 20; }

bool valid_outcome(std::string_view s) noexcept {
  return s == "negative" || s == "positive" || s == "inconclusive";
}

bool valid_priority(std::string_view s) noexcept { return s == "key" || s == "routine" || s == "voluntary"; }

TubeConsequence consequence_of(std::string_view outcome, int members) noexcept {
  TubeConsequence c;
  if (outcome == "negative") {
    c.clear_members = true;
  } else if (members > 1) {
    c.flag_members = true;
  } else if (outcome == "positive") {
    c.open_case = true;
  } else {
    c.retest_single = true;
  }
  return c;
}

bool valid_exclusion_reason(std::string_view s) noexcept {
  return s == "away" || s == "bedridden" || s == "moved_in" || s == "moved_out" || s == "deceased" ||
         s == "tested_elsewhere" || s == "other";
}

namespace {
void add(CoverageRow& a, const CoverageRow& b) {
  a.expected += b.expected;
  a.excluded += b.excluded;
  a.sampled += b.sampled;
  a.resulted += b.resulted;
  a.positive += b.positive;
  a.households_full += b.households_full;
  a.households_partial += b.households_partial;
  a.households_none += b.households_none;
}
}  // namespace

std::vector<CoverageRow> roll_up(const std::vector<CoverageRow>& rows, std::size_t length) {
  std::map<std::string, CoverageRow> by;
  for (const auto& r : rows) {
    std::string key = r.area_code.size() > length ? r.area_code.substr(0, length) : r.area_code;
    auto& acc = by[key];
    acc.area_code = key;
    add(acc, r);
  }
  std::vector<CoverageRow> out;
  out.reserve(by.size());
  for (auto& [k, v] : by) out.push_back(std::move(v));
  return out;
}

CoverageRow total_of(const std::vector<CoverageRow>& rows, std::string area_code) {
  CoverageRow t;
  t.area_code = std::move(area_code);
  for (const auto& r : rows) add(t, r);
  return t;
}

bool routine_day(Date since, Date day, int every_days) noexcept {
  if (!since.ok() || !day.ok()) return false;
  const auto d = (std::chrono::sys_days{day} - std::chrono::sys_days{since}).count();
  if (d < 0) return false;
  return d % std::max(1, every_days) == 0;
}

TurnaroundStats turnaround_stats(const std::map<int, std::int64_t>& hist, int target_hours) {
  TurnaroundStats s;
  for (const auto& [h, n] : hist) {
    if (n <= 0) continue;
    s.tubes += n;
    if (h < target_hours) s.within_target += n;
  }
  if (s.tubes == 0) return s;
  auto quantile = [&](double q) {
    const auto rank = static_cast<std::int64_t>(q * static_cast<double>(s.tubes) + 0.999999);  // ceil, at least 1
    std::int64_t seen = 0;
    for (const auto& [h, n] : hist) {
      if (n <= 0) continue;
      seen += n;
      if (seen >= std::max<std::int64_t>(rank, 1)) return static_cast<double>(std::max(h, 0) + 1);
    }
    return static_cast<double>(std::max(hist.rbegin()->first, 0) + 1);
  };
  s.median_hours = quantile(0.5);
  s.p90_hours = quantile(0.9);
  return s;
}

}  // namespace bihuan::nat
