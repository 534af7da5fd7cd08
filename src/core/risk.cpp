#include "core/risk.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/error.hpp"

namespace bihuan::risk {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

Date add_days(Date d, int n) { return Date{sys_days{d} + days{n}}; }

// The decimal number ending just before position `end` of `s` (ASCII digits), or -1.
int number_before(std::string_view s, std::size_t end) {
  std::size_t start = end;
  while (start > 0 && s[start - 1] >= '0' && s[start - 1] <= '9') --start;
  if (start == end || end - start > 6) return -1;
  int v = 0;
  std::from_chars(s.data() + start, s.data() + end, v);
  return v;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "17/2/5" -> {"17", "2", "5"}
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  for (;;) {
    auto at = s.find(sep, from);
    out.push_back(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
  return out;
}

const char* level_zh(RiskLevel l) {
  switch (l) {
    case RiskLevel::high: return "high";
    case RiskLevel::medium: return "medium";
    case RiskLevel::low: return "low";
  }
  return "low";
}

}  // namespace

std::string key_of(const Unit& u) { return std::string(policy::to_string(u.kind)) + ":" + u.ref; }

std::optional<AddressParts> parse_address(std::string_view a) {
  static constexpr std::string_view kUnit = "单元";
  const auto at = a.rfind(kUnit);
  if (at == std::string_view::npos) return std::nullopt;
  AddressParts out;
  out.unit = number_before(a, at);
  if (out.unit <= 0) return std::nullopt;
  std::string_view rest = a.substr(at + kUnit.size());
  std::size_t n = 0;
  while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
  if (n >= 3 && n <= 5) {
    int room = 0;
    std::from_chars(rest.data(), rest.data() + n, room);
    out.floor = room / 100;
  }
  return out;
}

std::optional<Unit> unit_of(UnitKind kind, const Residence& r) {
  switch (kind) {
    case UnitKind::grid:
      if (r.grid.empty()) return std::nullopt;
      return Unit{kind, r.grid};
    case UnitKind::building:
      if (r.building_id <= 0) return std::nullopt;
      return Unit{kind, std::to_string(r.building_id)};
    case UnitKind::unit: {
      auto p = parse_address(r.address);
      if (r.building_id <= 0 || !p) return std::nullopt;
      return Unit{kind, std::to_string(r.building_id) + "/" + std::to_string(p->unit)};
    }
    case UnitKind::floor: {
      auto p = parse_address(r.address);
      if (r.building_id <= 0 || !p || p->floor <= 0) return std::nullopt;
      return Unit{kind, std::to_string(r.building_id) + "/" + std::to_string(p->unit) + "/" + std::to_string(p->floor)};
    }
    case UnitKind::household:
      if (r.household_id <= 0) return std::nullopt;
      return Unit{kind, std::to_string(r.household_id)};
  }
  return std::nullopt;
}

bool holds(const Unit& u, const Residence& r) {
  auto mine = unit_of(u.kind, r);
  return mine && mine->ref == u.ref;
}

void check_designation(const policy::Profile& p, const Unit& u, RiskLevel level) {
  if (!p.risk_areas) fail(ErrorCode::invalid_argument, "profile " + p.name + " designates no risk areas", "profile");
  const auto& ra = *p.risk_areas;
  if (std::find(ra.units.begin(), ra.units.end(), u.kind) == ra.units.end()) {
    std::string allowed;
    for (auto k : ra.units) {
      if (!allowed.empty()) allowed += ", ";
      allowed += policy::to_string(k);
    }
    fail(ErrorCode::invalid_argument,
         "profile " + p.name + " does not allow risk areas over a " + policy::to_string(u.kind) + " (allowed: " + allowed + ")",
         "unit_kind");
  }
  if (level == RiskLevel::low || !ra.levels.count(level))
    fail(ErrorCode::invalid_argument,
         std::string("level ") + policy::to_string(level) + " cannot be designated under profile " + p.name +
             (ra.levels.count(RiskLevel::medium) ? " (high or medium)" : " (high only)"),
         "level");
  const auto parts = split(u.ref, '/');
  bool ok = false;
  switch (u.kind) {
    case UnitKind::grid: ok = all_digits(u.ref) && u.ref.size() == 15; break;
    case UnitKind::building:
    case UnitKind::household: ok = all_digits(u.ref) && u.ref != "0" && u.ref.front() != '0'; break;
    case UnitKind::unit: ok = parts.size() == 2 && all_digits(parts[0]) && all_digits(parts[1]); break;
    case UnitKind::floor: ok = parts.size() == 3 && all_digits(parts[0]) && all_digits(parts[1]) && all_digits(parts[2]); break;
  }
  if (!ok) {
    const char* shape = u.kind == UnitKind::grid       ? "a 15-digit grid code"
                        : u.kind == UnitKind::unit     ? "BUILDING/UNIT, e.g. 17/2"
                        : u.kind == UnitKind::floor    ? "BUILDING/UNIT/FLOOR, e.g. 17/2/5"
                                                       : "a registry id";
    fail(ErrorCode::invalid_argument, "unit_ref '" + u.ref + "' is not " + shape, "unit_ref");
  }
}

bool counts(const policy::RiskAreas& ra, const CaseFacts& c) {
  if (ra.count_found_inside_control.value) return true;
  return !(c.found_by && tracing::found_inside_control(*c.found_by));
}

const char* to_string(ProposalKind k) {
  switch (k) {
    case ProposalKind::designate: return "designate";
    case ProposalKind::raise: return "raise";
    case ProposalKind::downgrade: return "downgrade";
    case ProposalKind::lift: return "lift";
  }
  return "designate";
}

std::optional<ProposalKind> proposal_kind_from(std::string_view s) {
  for (auto k : {ProposalKind::designate, ProposalKind::raise, ProposalKind::downgrade, ProposalKind::lift})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

namespace {

struct Candidate {
  Unit unit;
  RiskLevel level = RiskLevel::low;
  std::set<std::int64_t> cases;
  std::optional<Date> last;
  std::vector<std::string> why;
  std::string source;
};

// Every unit the counted cases make an area of, with its level.
std::map<std::string, Candidate> candidates(const policy::RiskAreas& ra, const std::vector<CaseFacts>& cases) {
  std::map<std::string, Candidate> out;
  auto add = [&](const Unit& u, RiskLevel level, const CaseFacts& c, const std::string& why, const std::string& source) {
    auto& k = out[key_of(u)];
    k.unit = u;
    if (k.cases.empty() || more_severe(level, k.level)) {
      k.level = level;
      k.source = source;
    }
    k.cases.insert(c.id);
    if (!k.last || sys_days{c.infected} > sys_days{*k.last}) k.last = c.infected;
    if (k.why.size() < 5) k.why.push_back(why);
  };
  const bool grid_allowed = std::find(ra.units.begin(), ra.units.end(), UnitKind::grid) != ra.units.end();
  for (const auto& c : cases) {
    if (!counts(ra, c)) continue;
    for (auto kind : ra.units)
      if (auto u = unit_of(kind, c.home)) {
        add(*u, RiskLevel::high, c, "case " + std::to_string(c.id) + " lives here", ra.source);
        break;
      }
    if (!ra.places || !grid_allowed) continue;
    // Per grid: distinct days and the longest stay.
    std::map<std::string, std::pair<std::set<int>, int>> by_grid;
    std::map<std::string, std::string> label;
    for (const auto& p : c.places) {
      if (p.grid.empty()) continue;
      auto& [ds, longest] = by_grid[p.grid];
      ds.insert(static_cast<int>(sys_days{p.day}.time_since_epoch().count()));
      longest = std::max(longest, p.minutes);
      if (!label.count(p.grid)) label[p.grid] = p.label;
    }
    for (const auto& [grid, v] : by_grid) {
      const auto& [ds, longest] = v;
      const Unit u{UnitKind::grid, grid};
      if (static_cast<int>(ds.size()) >= ra.places->frequent_days)
        add(u, RiskLevel::high, c,
            "case " + std::to_string(c.id) + " was active here on " + std::to_string(ds.size()) + " days (" + label[grid] + ")",
            ra.places->source);
      else if (longest >= ra.places->min_stay_minutes)
        add(u, ra.places->stay_level, c,
            "case " + std::to_string(c.id) + " stayed here " + std::to_string(longest) + " minutes (" + label[grid] + ")",
            ra.places->source);
    }
  }
  return out;
}

}  // namespace

std::vector<Proposal> designations(const policy::RiskAreas& ra, const std::vector<CaseFacts>& cases,
                                   const std::vector<CurrentArea>& current) {
  std::map<std::string, const CurrentArea*> now;
  for (const auto& a : current) now[key_of(a.unit)] = &a;
  std::vector<Proposal> out;
  for (auto& [key, k] : candidates(ra, cases)) {
    Proposal p;
    p.unit = k.unit;
    p.level = k.level;
    p.cases.assign(k.cases.begin(), k.cases.end());
    p.last_infection = k.last;
    p.source = k.source;
    auto it = now.find(key);
    if (it != now.end()) {
      const CurrentArea& a = *it->second;
      if (!more_severe(k.level, a.level)) continue;
      if (std::all_of(k.cases.begin(), k.cases.end(), [&](std::int64_t id) {
            return std::find(a.cases.begin(), a.cases.end(), id) != a.cases.end();
          }))
        continue;
      p.kind = ProposalKind::raise;
      p.area_id = a.id;
      p.from = a.level;
    }
    for (const auto& w : k.why) {
      if (!p.reason.empty()) p.reason += "; ";
      p.reason += w;
    }
    p.reason += std::string(" -> ") + level_zh(k.level);
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, Date> last_infections(const policy::RiskAreas& ra, const std::vector<CaseFacts>& cases) {
  std::map<std::string, Date> out;
  for (auto& [key, k] : candidates(ra, cases))
    if (k.last) out[key] = *k.last;
  return out;
}

std::optional<Date> last_infection_in(const policy::RiskAreas& ra, const Unit& u, const std::vector<CaseFacts>& cases) {
  std::optional<Date> out;
  for (const auto& c : cases) {
    if (!counts(ra, c)) continue;
    bool in = holds(u, c.home);
    if (!in && u.kind == UnitKind::grid && ra.places)
      for (const auto& p : c.places)
        if (p.grid == u.ref && p.minutes >= ra.places->min_stay_minutes) in = true;
    if (in && (!out || sys_days{c.infected} > sys_days{*out})) out = c.infected;
  }
  return out;
}

std::optional<Proposal> obsolete(const policy::Profile& p, const CurrentArea& a) {
  Proposal out;
  if (!p.risk_areas) {
    out.reason = "profile " + p.name + " designates no risk areas -> low";
  } else if (!p.risk_areas->levels.count(a.level)) {
    out.reason = "profile " + p.name + " has no " + policy::to_string(a.level) + " level -> low";
    out.source = p.risk_areas->source;
  } else {
    return std::nullopt;
  }
  out.kind = ProposalKind::lift;
  out.area_id = a.id;
  out.unit = a.unit;
  out.from = a.level;
  out.level = RiskLevel::low;
  out.last_infection = a.last_infection;
  return out;
}

int days_without_infection(const CurrentArea& a, Date today) {
  const Date ref = a.last_infection ? *a.last_infection : a.level_since;
  return static_cast<int>((sys_days{today} - sys_days{ref}).count());
}

std::optional<Proposal> downgrade(const policy::RiskAreas& ra, const CurrentArea& a, Date today,
                                  const std::vector<RoundFact>& rounds) {
  for (const auto& r : ra.downgrades) {
    if (r.from != a.level) continue;
    if (r.designated && *r.designated != a.designated) continue;
    Date ref = a.level_since;
    const char* counted = "since the level started on ";
    if (r.counted_from == policy::CountedFrom::last_infection) {
      ref = a.last_infection ? *a.last_infection : a.level_since;
      counted = a.last_infection ? "without a new infection since " : "without a new infection since designation on ";
      // A level that started after the last infection still counts its days from the infection.
    } else if (a.last_infection && sys_days{*a.last_infection} > sys_days{a.level_since}) {
      continue;  // a new infection after the level started: the days at this level do not count
    }
    const Date last_day = add_days(ref, r.days);
    if (sys_days{today} < sys_days{last_day}) continue;
    std::string round_note;
    if (r.negative_round) {
      const RoundFact* latest = nullptr;
      for (const auto& rf : rounds)
        if (sys_days{rf.day} >= sys_days{last_day} && (!latest || sys_days{rf.day} > sys_days{latest->day})) latest = &rf;
      if (!latest || !latest->complete || latest->positives > 0) continue;
      round_note = ", and the round of " + format_date(latest->day) + " found no positive";
    }
    Proposal p;
    p.kind = r.to == RiskLevel::low ? ProposalKind::lift : ProposalKind::downgrade;
    p.area_id = a.id;
    p.unit = a.unit;
    p.from = a.level;
    p.level = r.to;
    p.last_infection = a.last_infection;
    p.source = r.source;
    p.reason = std::to_string(r.days) + " days " + counted + format_date(ref) + round_note + " -> " + level_zh(r.to);
    return p;
  }
  return std::nullopt;
}

}  // namespace bihuan::risk
