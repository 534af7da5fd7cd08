#include "nat/point_plan.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace bihuan::nat {

std::optional<int> minute_of_day(std::string_view s, bool allow_24) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4})
    if (!std::isdigit(static_cast<unsigned char>(s[static_cast<std::size_t>(i)]))) return std::nullopt;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (allow_24 && h == 24 && m == 0) return 24 * 60;
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

namespace {
constexpr int kDay = 24 * 60;
// [open, close) in minutes; close in (open, open + kDay].
std::pair<int, int> window(const std::string& opens, const std::string& closes) {
  const int o = minute_of_day(opens, false).value_or(0);
  int c = minute_of_day(closes, true).value_or(kDay);
  if (c <= o) c += kDay;  // past midnight, or around the clock when equal
  return {o, c};
}
std::size_t common_prefix(const std::string& a, const std::string& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}
}  // namespace

int open_minutes(const std::string& opens, const std::string& closes) {
  const auto [o, c] = window(opens, closes);
  return c - o;
}

bool open_at(const std::string& opens, const std::string& closes, int minute, int grace) {
  const auto [o, c] = window(opens, closes);
  if (c - o >= kDay) return true;
  const int end = c + std::max(0, grace);
  // The minute itself, or the same minute on the next day for a window past midnight.
  for (int m : {minute, minute + kDay})
    if (m >= o && m < end) return true;
  return false;
}

RoundPlan plan_round(const std::vector<PlanPoint>& points, std::vector<PlanArea> areas) {
  RoundPlan out;
  std::vector<std::int64_t> left;
  for (const auto& p : points) {
    const std::int64_t cap = static_cast<std::int64_t>(p.capacity_per_hour) * open_minutes(p.opens, p.closes) / 60;
    out.points.push_back({p.id, cap, 0});
    left.push_back(cap);
    out.capacity += cap;
  }
  std::stable_sort(areas.begin(), areas.end(), [](const PlanArea& a, const PlanArea& b) {
    return a.residents != b.residents ? a.residents > b.residents : a.area_code < b.area_code;
  });
  std::map<std::string, std::int64_t> rest;  // residents not yet assigned, by area
  auto give = [&](const PlanArea& a, std::size_t pi, bool local) {
    auto& r = rest[a.area_code];
    const std::int64_t n = std::min(r, left[pi]);
    if (n <= 0) return;
    r -= n;
    left[pi] -= n;
    out.points[pi].load += n;
    out.assigned += n;
    out.assignments.push_back({a.area_code, points[pi].id, n, local});
  };
  // Candidate points of an area, nearest first (longest common prefix, then the most room, then id).
  auto nearest = [&](const std::string& code, bool serving) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const bool serves = code.compare(0, points[i].area_code.size(), points[i].area_code) == 0;
      if (serves == serving) idx.push_back(i);
    }
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
      const auto px = common_prefix(points[x].area_code, code), py = common_prefix(points[y].area_code, code);
      if (px != py) return px > py;
      if (left[x] != left[y]) return left[x] > left[y];
      return points[x].id < points[y].id;
    });
    return idx;
  };
  for (const auto& a : areas) {
    out.residents += std::max<std::int64_t>(0, a.residents);
    rest[a.area_code] += std::max<std::int64_t>(0, a.residents);
  }
  for (const auto& a : areas)
    for (auto pi : nearest(a.area_code, true)) give(a, pi, true);
  for (const auto& a : areas)
    for (auto pi : nearest(a.area_code, false)) give(a, pi, false);
  for (const auto& a : areas) {
    auto& r = rest[a.area_code];
    if (r > 0) {
      out.overflow.push_back({a.area_code, r});
      out.overflowed += r;
      r = 0;
    }
  }
  std::stable_sort(out.assignments.begin(), out.assignments.end(),
                   [](const Assignment& x, const Assignment& y) { return x.area_code < y.area_code; });
  return out;
}

}  // namespace bihuan::nat
