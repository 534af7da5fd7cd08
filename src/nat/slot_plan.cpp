#include "nat/slot_plan.hpp"

#include <algorithm>

#include "nat/point_plan.hpp"

namespace bihuan::nat {

namespace {
constexpr int kDay = 24 * 60;

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
  // nearest first, then the others by common code prefix; equally near points in code order,
  // then in the order given. The points are sorted by (code, order given): the points sharing
  // the first k characters with a grid's code are one run of that order, so the candidates at
  // exactly k characters are two runs, and a tree of the points' remaining room over that order
  // finds the first with room for a household in O(log points) instead of a walk over every
  // point (25 M residents in 9.5 M households and 2,651 points: bench/RESULTS.md).
  const std::size_t np = points.size();
  std::vector<std::size_t> order(np);
  for (std::size_t p = 0; p < np; ++p) order[p] = p;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return points[x].area_code < points[y].area_code; });
  std::size_t leaves = 1;
  while (leaves < std::max<std::size_t>(1, np)) leaves *= 2;
  std::vector<std::int64_t> room_below(2 * leaves, -1);  // max remaining room below each node
  for (std::size_t i = 0; i < np; ++i) room_below[leaves + i] = left[order[i]];
  for (std::size_t n = leaves - 1; n >= 1; --n) room_below[n] = std::max(room_below[2 * n], room_below[2 * n + 1]);
  auto take_room = [&](std::size_t pos, std::int64_t n) {
    std::size_t node = leaves + pos;
    room_below[node] -= n;
    for (node /= 2; node >= 1; node /= 2) room_below[node] = std::max(room_below[2 * node], room_below[2 * node + 1]);
  };
  // The first position in [from, to) whose point has room for n, or npos.
  auto first_with_room = [&](std::size_t from, std::size_t to, std::int64_t n) {
    std::size_t found = SlotPlan::npos;
    auto walk = [&](auto&& self, std::size_t node, std::size_t lo, std::size_t hi) -> void {
      if (found != SlotPlan::npos || hi <= from || to <= lo || room_below[node] < n) return;
      if (hi - lo == 1) {
        found = lo;
        return;
      }
      const std::size_t mid = (lo + hi) / 2;
      self(self, 2 * node, lo, mid);
      self(self, 2 * node + 1, mid, hi);
    };
    if (from < to) walk(walk, 1, 0, leaves);
    return found;
  };
  // The run of positions whose code starts with prefix.
  auto run_of = [&](const std::string& prefix) {
    auto lo = std::lower_bound(order.begin(), order.end(), prefix, [&](std::size_t p, const std::string& v) {
      return points[p].area_code < v;
    });
    auto hi = std::partition_point(lo, order.end(), [&](std::size_t p) {
      return points[p].area_code.compare(0, prefix.size(), prefix) == 0;
    });
    return std::pair<std::size_t, std::size_t>(static_cast<std::size_t>(lo - order.begin()),
                                               static_cast<std::size_t>(hi - order.begin()));
  };
  // The run of positions whose code is exactly code.
  auto exactly = [&](const std::string& code) {
    auto r = run_of(code);
    r.second = static_cast<std::size_t>(
        std::partition_point(order.begin() + static_cast<std::ptrdiff_t>(r.first),
                             order.begin() + static_cast<std::ptrdiff_t>(r.second),
                             [&](std::size_t p) { return points[p].area_code.size() == code.size(); }) -
        order.begin());
    return r;
  };
  std::vector<std::size_t> point_of(units.size(), SlotPlan::npos);
  auto place = [&](std::size_t u, const std::vector<std::pair<std::size_t, std::size_t>>& runs) {
    const std::int64_t n = units[u].members;
    if (room_below[1] < n) return;
    for (const auto& [from, to] : runs) {
      const auto pos = first_with_room(from, to, n);
      if (pos == SlotPlan::npos) continue;
      point_of[u] = order[pos];
      left[order[pos]] -= n;
      take_room(pos, n);
      return;
    }
  };
  struct Grid {
    std::size_t from, to;  // units [from, to)
  };
  std::vector<Grid> grids;
  for (std::size_t i = 0; i < units.size();) {
    std::size_t j = i + 1;
    while (j < units.size() && units[j].area_code == units[i].area_code) ++j;
    grids.push_back({i, j});
    i = j;
  }
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (const auto& g : grids) {
    // Serving: the points whose code is a prefix of the grid's, the longest first.
    const std::string& code = units[g.from].area_code;
    runs.clear();
    for (std::size_t len = code.size(); len >= 1; --len) {
      const auto r = exactly(code.substr(0, len));
      if (r.first < r.second) runs.push_back(r);
    }
    for (std::size_t u = g.from; u < g.to; ++u)
      if (units[u].members > 0) place(u, runs);
  }
  for (const auto& g : grids) {
    // The others by common prefix, the longest first (the serving points among them had no room
    // for these households in the first pass and have no more now).
    const std::string& code = units[g.from].area_code;
    bool any = false;
    for (std::size_t u = g.from; u < g.to && !any; ++u) any = units[u].members > 0 && point_of[u] == SlotPlan::npos;
    if (!any) continue;
    runs.clear();
    std::pair<std::size_t, std::size_t> inner{0, 0};
    for (std::size_t k = code.size() + 1; k-- > 0;) {
      const auto outer = run_of(code.substr(0, k));
      if (inner.first == inner.second) {
        runs.push_back(outer);
      } else {
        runs.emplace_back(outer.first, inner.first);
        runs.emplace_back(inner.second, outer.second);
      }
      inner = outer;
    }
    for (std::size_t u = g.from; u < g.to; ++u)
      if (units[u].members > 0 && point_of[u] == SlotPlan::npos) place(u, runs);
  }

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
