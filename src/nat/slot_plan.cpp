#include "nat/slot_plan.hpp"

#include <algorithm>

#include "nat/point_plan.hpp"

namespace bihuan::nat {

namespace {
constexpr int kDay = 24 * 60;

std::size_t common_prefix(const std::string& a, const std::string& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

void cut(std::vector<std::pair<int, int>>& out, int from, int to, int len) {
  for (int s = from; s < to; s += len) out.emplace_back(s, std::min(to, s + len));
}
}  // namespace

std::string clock_text(int minute) {
  const int h = minute / 60, m = minute % 60;
  std::string s(5, '0');
  s[0] = static_cast<char>('0' + h / 10);
  s[1] = static_cast<char>('0' + h % 10);
  s[2] = ':';
  s[3] = static_cast<char>('0' + m / 10);
  s[4] = static_cast<char>('0' + m % 10);
  return s;
}

std::vector<std::pair<int, int>> slot_times(const std::string& opens, const std::string& closes, int slot_minutes) {
  std::vector<std::pair<int, int>> out;
  if (slot_minutes < 1) return out;
  const int o = minute_of_day(opens, false).value_or(0);
  const int c = minute_of_day(closes, true).value_or(kDay);
  if (o == c || (o == 0 && c == kDay)) {
    cut(out, 0, kDay, slot_minutes);
  } else if (c > o) {
    cut(out, o, c, slot_minutes);
  } else {  // past midnight: the morning part of the day, then the evening part
    cut(out, 0, c, slot_minutes);
    cut(out, o, kDay, slot_minutes);
  }
  return out;
}

SlotPlan plan_slots(const std::vector<SlotPoint>& points, const std::vector<SlotUnit>& units, int slot_minutes) {
  SlotPlan out;
  out.unit_slot.assign(units.size(), SlotPlan::npos);
  // The slots of every point and the point's room for the day.
  std::vector<std::size_t> first_slot(points.size() + 1, 0);
  std::vector<std::int64_t> left(points.size(), 0), biggest(points.size(), 0);
  for (std::size_t p = 0; p < points.size(); ++p) {
    first_slot[p] = out.slots.size();
    for (const auto& [s, e] : slot_times(points[p].opens, points[p].closes, slot_minutes)) {
      const std::int64_t cap = static_cast<std::int64_t>(std::max(0, points[p].capacity_per_hour)) * (e - s) / 60;
      if (cap <= 0) continue;
      out.slots.push_back({p, s, e, cap, 0});
      left[p] += cap;
      biggest[p] = std::max(biggest[p], cap);
    }
    out.capacity += left[p];
  }
  first_slot[points.size()] = out.slots.size();
  for (const auto& u : units) out.residents += std::max<std::int64_t>(0, u.members);

  // 1. Points. Candidates of a grid: serving points (in the grid or an area containing it) the
  // nearest first, then the others by common code prefix; ties by the order given.
  std::vector<std::size_t> point_of(units.size(), SlotPlan::npos);
  struct Grid {
    std::size_t from, to;  // units [from, to)
    std::vector<std::size_t> serving, others;
  };
  std::vector<Grid> grids;
  for (std::size_t i = 0; i < units.size();) {
    std::size_t j = i + 1;
    while (j < units.size() && units[j].area_code == units[i].area_code) ++j;
    Grid g{i, j, {}, {}};
    const std::string& code = units[i].area_code;
    for (std::size_t p = 0; p < points.size(); ++p) {
      if (left[p] <= 0) continue;
      const bool serves = code.compare(0, points[p].area_code.size(), points[p].area_code) == 0;
      (serves ? g.serving : g.others).push_back(p);
    }
    auto nearest = [&](std::size_t x, std::size_t y) {
      const auto px = common_prefix(points[x].area_code, code), py = common_prefix(points[y].area_code, code);
      return px != py ? px > py : x < y;
    };
    std::stable_sort(g.serving.begin(), g.serving.end(), nearest);
    std::stable_sort(g.others.begin(), g.others.end(), nearest);
    grids.push_back(std::move(g));
    i = j;
  }
  auto place = [&](const Grid& g, const std::vector<std::size_t>& cands) {
    for (std::size_t u = g.from; u < g.to; ++u) {
      if (point_of[u] != SlotPlan::npos || units[u].members <= 0) continue;
      for (auto p : cands)
        if (left[p] >= units[u].members) {
          point_of[u] = p;
          left[p] -= units[u].members;
          break;
        }
    }
  };
  for (const auto& g : grids) place(g, g.serving);
  for (const auto& g : grids) place(g, g.others);

  // 2. Slots, point by point, in unit order.
  std::vector<std::vector<std::size_t>> at_point(points.size());
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (units[u].members <= 0) continue;
    if (point_of[u] == SlotPlan::npos) {
      out.unplaced.push_back(u);
      continue;
    }
    at_point[point_of[u]].push_back(u);
  }
  for (std::size_t p = 0; p < points.size(); ++p) {
    const std::size_t s0 = first_slot[p], s1 = first_slot[p + 1];
    if (at_point[p].empty()) continue;
    std::int64_t load = 0, cap = 0;
    for (auto u : at_point[p]) load += units[u].members;
    for (std::size_t s = s0; s < s1; ++s) cap += out.slots[s].capacity;
    // Each slot's share of the load is its capacity x load / capacity (the same fraction of every
    // slot); a household goes to the slot whose cumulative share its middle falls in.
    std::vector<double> upto(s1 - s0);
    double acc = 0;
    for (std::size_t s = s0; s < s1; ++s) {
      acc += static_cast<double>(out.slots[s].capacity) * static_cast<double>(load) / static_cast<double>(cap);
      upto[s - s0] = acc;
    }
    std::vector<std::size_t> split;
    std::size_t cur = s0;
    double done = 0;  // persons placed at the point so far (whole households)
    for (auto u : at_point[p]) {
      const std::int64_t n = units[u].members;
      if (n > biggest[p]) {
        split.push_back(u);
        continue;
      }
      const double middle = done + static_cast<double>(n) / 2;
      while (cur < s1 && (middle > upto[cur - s0] + 1e-9 || out.slots[cur].planned + n > out.slots[cur].capacity)) ++cur;
      std::size_t at = cur;
      if (at >= s1) {  // the shares are taken: any slot with room for the whole household
        at = s1;
        for (std::size_t s = s0; s < s1; ++s)
          if (out.slots[s].planned + n <= out.slots[s].capacity) {
            at = s;
            break;
          }
        cur = s1;
      }
      if (at >= s1) {
        split.push_back(u);
        continue;
      }
      out.slots[at].planned += n;
      out.unit_slot[u] = at;
      out.placed += n;
      done += static_cast<double>(n);
    }
    // Split households take the point's free places in time order (the point has room for all:
    // its load never passes its capacity).
    for (auto u : split) {
      SlotSplit sp{u, {}};
      std::int64_t rest = units[u].members;
      for (std::size_t s = s0; s < s1 && rest > 0; ++s) {
        const std::int64_t room = out.slots[s].capacity - out.slots[s].planned;
        if (room <= 0) continue;
        const std::int64_t take = std::min(room, rest);
        out.slots[s].planned += take;
        sp.parts.emplace_back(s, take);
        rest -= take;
        out.placed += take;
      }
      out.splits.push_back(std::move(sp));
    }
  }
  return out;
}

}  // namespace bihuan::nat
