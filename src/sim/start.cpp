#include "sim/start.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/error.hpp"
#include "core/loop.hpp"

namespace bihuan::sim {

std::uint32_t StartSnapshot::add_area(const std::string& code) {
  auto it = std::lower_bound(area_index_.begin(), area_index_.end(), code,
                             [](const auto& e, const std::string& c) { return e.first < c; });
  if (it != area_index_.end() && it->first == code) return it->second;
  const auto idx = static_cast<std::uint32_t>(areas.size());
  areas.push_back(code);
  area_index_.insert(it, {code, idx});
  return idx;
}

std::optional<policy::Measure> measure_of_stage(const std::string& stage) {
  const auto st = loop::stage_from(stage);
  if (!st) fail(ErrorCode::invalid_argument, "control order: unknown stage '" + stage + "'", "stage");
  switch (*st) {
    case loop::Stage::port_screening:
    case loop::Stage::transfer:
    case loop::Stage::quarantine_site:
    case loop::Stage::hospital: return policy::Measure::central_quarantine;
    case loop::Stage::destination_transfer:
    case loop::Stage::destination_community:
    case loop::Stage::home_isolation: return policy::Measure::home_isolation;
    case loop::Stage::home_monitoring: return policy::Measure::home_health_monitoring;
    case loop::Stage::released: return std::nullopt;
  }
  return std::nullopt;
}

namespace {
int days_from(Date today, Date d) {
  return static_cast<int>((std::chrono::sys_days(d) - std::chrono::sys_days(today)).count());
}
}  // namespace

StartBuild build_start(const StartSnapshot& s, const PopulationOptions& opt) {
  if (s.persons.empty()) fail(ErrorCode::invalid_argument, "the database holds no persons", "persons");
  if (s.persons.size() >= (std::size_t{1} << 31))
    fail(ErrorCode::invalid_argument, "more than 2,147,483,647 persons", "persons");
  if (opt.class_size < 2 || opt.workplace_size < 2)
    fail(ErrorCode::invalid_argument, "population: class and workplace sizes must be at least 2", "population");
  const auto n = static_cast<std::uint32_t>(s.persons.size());
  for (const auto& p : s.persons)
    if (p.area >= s.areas.size()) fail(ErrorCode::invalid_argument, "snapshot: a person's area is not interned", "area");

  // Areas in code order; persons by (area, household, id); a person without a household is a
  // household of one.
  std::vector<std::uint32_t> area_rank(s.areas.size());
  {
    std::vector<std::uint32_t> by_code(s.areas.size());
    std::iota(by_code.begin(), by_code.end(), 0u);
    std::sort(by_code.begin(), by_code.end(), [&](auto a, auto b) { return s.areas[a] < s.areas[b]; });
    for (std::uint32_t r = 0; r < by_code.size(); ++r) area_rank[by_code[r]] = r;
  }
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  auto hh_key = [&](const StartSnapshot::Person& p) { return p.household != 0 ? p.household : -p.id; };
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& pa = s.persons[a];
    const auto& pb = s.persons[b];
    if (area_rank[pa.area] != area_rank[pb.area]) return area_rank[pa.area] < area_rank[pb.area];
    if (hh_key(pa) != hh_key(pb)) return hh_key(pa) < hh_key(pb);
    return pa.id < pb.id;
  });

  StartBuild out;
  Population& pop = out.pop;
  pop.n = n;
  pop.age.assign(n, 0);
  pop.band.assign(n, 0);
  pop.household.assign(n, 0);
  pop.group.assign(n, kNoGroup);
  out.person_of_agent.assign(n, 0);
  pop.grid_start.push_back(0);
  pop.district_start.push_back(0);
  for (std::uint32_t a = 0; a < n; ++a) {
    const auto& p = s.persons[order[a]];
    const bool new_grid = a > 0 && s.persons[order[a - 1]].area != p.area;
    const bool new_hh = a == 0 || new_grid || hh_key(s.persons[order[a - 1]]) != hh_key(p);
    if (new_grid) {
      // A district (区, county level) is the first six digits of an area's code (core/area.hpp).
      if (s.areas[s.persons[order[a - 1]].area].substr(0, 6) != s.areas[p.area].substr(0, 6))
        pop.district_start.push_back(static_cast<std::uint32_t>(pop.grid_start.size()));
      pop.grid_start.push_back(a);
    }
    if (new_hh) {
      pop.hh_start.push_back(a);
      pop.grid_of_hh.push_back(static_cast<std::uint32_t>(pop.grid_start.size() - 1));
    }
    const int age = std::clamp(p.age, 0, 120);
    pop.age[a] = static_cast<std::uint8_t>(age);
    pop.band[a] = static_cast<std::uint8_t>(band_of_age(age));
    pop.household[a] = static_cast<std::uint32_t>(pop.hh_start.size() - 1);
    out.person_of_agent[a] = p.id;
  }
  pop.hh_start.push_back(n);
  pop.grid_start.push_back(n);
  pop.district_start.push_back(pop.grids());

  // Workplaces and schools: the members of each org by (age, id), cut into groups of about
  // workplace_size (class_size for schools).
  std::vector<std::uint32_t> by_org;
  for (std::uint32_t a = 0; a < n; ++a)
    if (s.persons[order[a]].org != 0) by_org.push_back(a);
  std::sort(by_org.begin(), by_org.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& pa = s.persons[order[a]];
    const auto& pb = s.persons[order[b]];
    if (pa.org != pb.org) return pa.org < pb.org;
    if (pop.age[a] != pop.age[b]) return pop.age[a] < pop.age[b];
    return pa.id < pb.id;
  });
  std::uint32_t groups = 0;
  for (std::size_t lo = 0; lo < by_org.size();) {
    std::size_t hi = lo;
    const auto& first = s.persons[order[by_org[lo]]];
    while (hi < by_org.size() && s.persons[order[by_org[hi]]].org == first.org) ++hi;
    const std::size_t members = hi - lo;
    const auto size = static_cast<std::size_t>(first.school ? opt.class_size : opt.workplace_size);
    const std::size_t parts = std::max<std::size_t>(1, (members + size / 2) / size);
    for (std::size_t k = 0; k < members; ++k)
      pop.group[by_org[lo + k]] = groups + static_cast<std::uint32_t>(k * parts / members);
    groups += static_cast<std::uint32_t>(parts);
    lo = hi;
  }
  index_groups_and_bands(pop, groups);

  // Agents of database persons (persons arrive in any order).
  std::vector<std::pair<std::int64_t, std::uint32_t>> agent_of;
  agent_of.reserve(n);
  for (std::uint32_t a = 0; a < n; ++a) agent_of.emplace_back(out.person_of_agent[a], a);
  std::sort(agent_of.begin(), agent_of.end());
  auto find_agent = [&](std::int64_t id) -> std::optional<std::uint32_t> {
    auto it = std::lower_bound(agent_of.begin(), agent_of.end(), std::make_pair(id, std::uint32_t{0}));
    if (it == agent_of.end() || it->first != id) return std::nullopt;
    return it->second;
  };

  auto st = std::make_shared<StartState>();
  std::vector<bool> has_order(n, false);
  for (const auto& o : s.orders) {
    const auto agent = find_agent(o.person_id);
    const auto measure = measure_of_stage(o.stage);
    if (!agent || !measure || has_order[*agent]) {
      ++out.orders_skipped;
      continue;
    }
    has_order[*agent] = true;
    auto g = std::find(st->groups.begin(), st->groups.end(), o.group);
    if (g == st->groups.end()) g = st->groups.insert(g, o.group);
    StartState::Order so;
    so.agent = *agent;
    so.group = static_cast<int>(g - st->groups.begin());
    so.plan_start = std::clamp(days_from(s.today, o.start), -3000, 0);
    so.today = *measure;
    st->orders.push_back(so);
    ++out.orders;
  }
  std::vector<bool> has_case(n, false);
  for (const auto& c : s.cases) {
    const auto agent = find_agent(c.person_id);
    if (!agent || has_case[*agent]) {
      ++out.cases_skipped;
      continue;
    }
    has_case[*agent] = true;
    StartState::Case sc;
    sc.agent = *agent;
    sc.result_day = std::clamp(days_from(s.today, c.result), -3000, 0);
    sc.sample_day = std::clamp(days_from(s.today, c.sampled), -3000, sc.result_day);
    sc.opened = c.opened;
    st->cases.push_back(sc);
    ++(c.opened ? out.cases : out.positives);
  }
  out.state = std::move(st);
  return out;
}

}  // namespace bihuan::sim
