#include "nat/slots.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "nat/slot_plan.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"

namespace bihuan::nat {

namespace {

void require(const Caller& c, Permission p) {
  if (!c.can(p)) fail(ErrorCode::permission_denied, std::string("this needs the permission ") + to_string(p), "role");
}

[[noreturn]] void stopped() { fail(ErrorCode::unavailable, "the plan was stopped; nothing was kept", "job"); }

}  // namespace

SlotService::SlotService(store::Repository& repo, const Clock& clock, LocalTime local)
    : repo_(repo),
      nat_(store::open_nat_repository(repo)),
      slots_(store::open_slot_repository(repo)),
      clock_(clock),
      local_(std::move(local)) {}

SlotService::~SlotService() = default;

// As the testing service sees rounds: inside the caller's area, or containing it.
store::RoundRow SlotService::visible_round(std::int64_t id, const Caller& c) {
  auto r = nat_->round(id);
  const bool ok = r && (c.everything() ||
                        (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty() &&
                         (in_subtree(r->area_code, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, r->area_code))));
  if (!ok) fail(ErrorCode::not_found, "no such round: " + std::to_string(id), "round_id");
  return std::move(*r);
}

// The area asked for, inside the round and the caller's scope ("" = the round's area, or the
// caller's part of it).
std::string SlotService::area_of(const store::RoundRow& r, const std::string& area, const Caller& c) {
  if (area.empty())
    return c.everything() || in_subtree(r.area_code, c.scope.area_prefix) ? r.area_code : c.scope.area_prefix;
  auto code = canonical_area_code(area);
  if (!code) fail(ErrorCode::invalid_argument, "area is not an area code: " + area, "area");
  if (!in_subtree(*code, r.area_code) || !(c.everything() || area_in_scope(c.scope, *code)))
    fail(ErrorCode::not_found, "no such area in this round: " + *code, "area");
  return *code;
}

store::RoundRow SlotService::plannable_round(std::int64_t round_id, const Caller& c) {
  require(c, Permission::test_manage);
  return store::in_transaction(repo_, [&] {
    auto r = visible_round(round_id, c);
    if (!c.everything() && !in_subtree(r.area_code, c.scope.area_prefix))
      fail(ErrorCode::permission_denied, "only the command centre of the round's area plans its slots", "round_id");
    return r;
  });
}

SlotPlanReport SlotService::make_plan(std::int64_t round_id, int slot_minutes, const Caller& c,
                                      const std::function<void(double)>& progress, const std::function<bool()>& stop) {
  require(c, Permission::test_manage);
  if (slot_minutes < 10 || slot_minutes > 240)
    fail(ErrorCode::invalid_argument, "slot_minutes must be between 10 and 240", "slot_minutes");
  auto report = [&](double f) {
    if (progress) progress(f);
    if (stop && stop()) stopped();
  };
  return store::in_transaction(repo_, [&] {
    const auto r = visible_round(round_id, c);
    if (!c.everything() && !in_subtree(r.area_code, c.scope.area_prefix))
      fail(ErrorCode::permission_denied, "only the command centre of the round's area plans its slots", "round_id");
    if (r.status != "open") fail(ErrorCode::conflict, "the round is closed", "round_id");

    // The active points of the round's area, or of an area containing it.
    std::vector<store::SamplingPointRow> pts;
    for (auto& p : nat_->points(Scope::everything(), 100000)) {
      if (!p.active) continue;
      if (!in_subtree(p.area_code, r.area_code) && !in_subtree(r.area_code, p.area_code)) continue;
      pts.push_back(std::move(p));
    }
    std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<SlotPoint> sp;
    sp.reserve(pts.size());
    for (const auto& p : pts) sp.push_back({p.id, p.area_code, p.capacity_per_hour, p.opens, p.closes});

    // The expected residents, area by area: a household is one unit (its grid: the first in
    // code order where it has an expected member), a person without one is a unit alone.
    std::unordered_set<std::int64_t> excluded;
    for (const auto& x : nat_->exclusions(r.id)) excluded.insert(x.person_id);
    struct Seen {
      std::int64_t household, person;
      std::uint32_t area;
    };
    std::vector<Seen> seen;
    const auto areas = slots_->resident_areas(r.area_code);
    for (std::size_t a = 0; a < areas.size(); ++a) {
      slots_->residents_in(areas[a], [&](std::int64_t id, std::int64_t household) {
        if (!excluded.empty() && excluded.count(id)) return;
        seen.push_back({household, household ? 0 : id, static_cast<std::uint32_t>(a)});
      });
      if (a % 64 == 0) report(0.5 * static_cast<double>(a + 1) / static_cast<double>(areas.size()));
    }
    std::sort(seen.begin(), seen.end(), [](const Seen& x, const Seen& y) {
      return x.household != y.household ? x.household < y.household
                                        : (x.person != y.person ? x.person < y.person : x.area < y.area);
    });
    std::vector<SlotUnit> units;
    SlotPlanReport rep;
    rep.round_id = r.id;
    rep.slot_minutes = slot_minutes;
    for (std::size_t i = 0; i < seen.size();) {
      std::size_t j = i + 1;
      if (seen[i].household != 0)
        while (j < seen.size() && seen[j].household == seen[i].household) ++j;
      // Sorted by area index within the household: the first is the smallest code.
      units.push_back({seen[i].household, seen[i].person, areas[seen[i].area], static_cast<std::int64_t>(j - i)});
      (seen[i].household ? rep.households : rep.single_persons) += 1;
      i = j;
    }
    std::vector<Seen>().swap(seen);
    units.shrink_to_fit();  // 9.5 M households at 25 M residents: give back the growth's slack
    std::stable_sort(units.begin(), units.end(), [](const SlotUnit& x, const SlotUnit& y) {
      if (x.area_code != y.area_code) return x.area_code < y.area_code;
      if (x.household_id != y.household_id) return x.household_id < y.household_id;
      return x.person_id < y.person_id;
    });
    report(0.55);

    const auto plan = plan_slots(sp, units, slot_minutes);
    if (!plan.unplaced.empty()) {
      std::map<std::string, std::int64_t> short_by_grid;
      std::int64_t persons = 0;
      for (auto u : plan.unplaced) {
        short_by_grid[units[u].area_code] += units[u].members;
        persons += units[u].members;
      }
      std::string grids;
      int n = 0;
      for (const auto& [g, k] : short_by_grid) {
        if (++n > 10) {
          grids += ", ...";
          break;
        }
        grids += (grids.empty() ? "" : ", ") + g + " (" + std::to_string(k) + ")";
      }
      fail(ErrorCode::conflict,
           "the sampling points cannot take everyone: " + std::to_string(persons) + " residents of " +
               std::to_string(plan.unplaced.size()) + " households have no place (grids: " + grids + "); " +
               std::to_string(plan.residents) + " residents, " + std::to_string(plan.capacity) +
               " places in the points' hours; add points, hours or capacity per hour",
           "capacity");
    }
    report(0.6);

    // Rows: slots with their point's area; units in area and household order, a split
    // household person by person.
    std::vector<store::SlotRow> slots;
    slots.reserve(plan.slots.size());
    std::unordered_set<std::int64_t> used_points;
    for (const auto& s : plan.slots) {
      store::SlotRow row;
      row.point_id = pts[s.point].id;
      row.area_code = pts[s.point].area_code;
      row.starts = s.starts;
      row.ends = s.ends;
      row.capacity = s.capacity;
      row.planned = s.planned;
      used_points.insert(row.point_id);
      slots.push_back(std::move(row));
    }
    std::map<std::size_t, const SlotSplit*> split_of;
    for (const auto& s : plan.splits) split_of[s.unit] = &s;
    std::vector<store::SlotUnitRow> rows;
    rows.reserve(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) {
      const auto& unit = units[u];
      auto it = split_of.find(u);
      if (it == split_of.end()) {
        store::SlotUnitRow row;
        row.area_code = unit.area_code;
        row.household_id = unit.household_id;
        row.person_id = unit.person_id;
        row.slot_id = static_cast<std::int64_t>(plan.unit_slot[u]);
        row.members = unit.members;
        rows.push_back(std::move(row));
        continue;
      }
      // The household's expected members in id order take the parts in time order.
      std::vector<std::int64_t> members;
      for (auto id : slots_->household_members(unit.household_id, r.area_code))
        if (!excluded.count(id)) members.push_back(id);
      if (static_cast<std::int64_t>(members.size()) != unit.members)
        fail(ErrorCode::conflict, "household " + std::to_string(unit.household_id) + " changed while it was planned",
             "household_id");
      std::size_t k = 0;
      for (const auto& [slot, count] : it->second->parts)
        for (std::int64_t i = 0; i < count; ++i) {
          store::SlotUnitRow row;
          row.area_code = unit.area_code;
          row.household_id = unit.household_id;
          row.person_id = members[k++];
          row.slot_id = static_cast<std::int64_t>(slot);
          row.members = 1;
          rows.push_back(std::move(row));
        }
      ++rep.split_households;
    }
    rep.residents = plan.residents;
    rep.points = static_cast<std::int64_t>(used_points.size());
    rep.slots = static_cast<std::int64_t>(slots.size());
    rep.capacity = plan.capacity;
    rep.units = static_cast<std::int64_t>(rows.size());
    // The labs' tubes: each point's planned persons in tubes of the round's ratio.
    {
      std::map<std::int64_t, std::int64_t> planned_at;  // point index -> persons
      for (const auto& s : plan.slots) planned_at[static_cast<std::int64_t>(s.point)] += s.planned;
      const std::int64_t ratio = std::max(1, r.pool_ratio);
      std::map<std::int64_t, SlotLabLoad> labs;
      for (const auto& [point, persons] : planned_at) {
        auto& l = labs[pts[static_cast<std::size_t>(point)].lab_org_id];
        l.persons += persons;
        l.tubes += (persons + ratio - 1) / ratio;
      }
      for (auto& [id, l] : labs) {
        l.lab_org_id = id;
        rep.tubes += l.tubes;
        if (id == 0) continue;
        if (auto o = repo_.org(id)) {
          l.name = o->name;
          if (auto v = repo_.setting("capacity.tubes." + o->code)) {
            try {
              l.tubes_per_day = std::stoll(*v);
            } catch (const std::exception&) {
              // A setting that is not a number is no capacity.
            }
          }
        }
        if (l.tubes_per_day && l.tubes > *l.tubes_per_day) ++rep.labs_short;
      }
      for (auto& [id, l] : labs) rep.labs.push_back(std::move(l));
    }

    store::SlotPlanRow p;
    p.round_id = r.id;
    p.slot_minutes = slot_minutes;
    p.residents = rep.residents;
    p.units = rep.units;
    p.points = rep.points;
    p.capacity = rep.capacity;
    p.made_at = clock_.now();
    p.made_by = c.user_id;
    const double total = static_cast<double>(std::max<std::size_t>(1, rows.size()));
    slots_->replace_plan(p, slots, rows, [&](std::size_t done) { report(0.6 + 0.4 * static_cast<double>(done) / total); });
    repo_.append_audit(store::audit_of(c, clock_.now(), "test.round_slots", "round", r.id, {},
                                       nlohmann::json{{"slot_minutes", slot_minutes},
                                                      {"residents", rep.residents},
                                                      {"households", rep.households},
                                                      {"single_persons", rep.single_persons},
                                                      {"split_households", rep.split_households},
                                                      {"points", rep.points},
                                                      {"slots", rep.slots}}
                                           .dump()));
    return rep;
  });
}

std::string to_json(const SlotPlanReport& r) {
  nlohmann::json labs = nlohmann::json::array();
  for (const auto& l : r.labs)
    labs.push_back({{"lab_org_id", l.lab_org_id},
                    {"name", l.name},
                    {"persons", l.persons},
                    {"tubes", l.tubes},
                    {"tubes_per_day", l.tubes_per_day ? nlohmann::json(*l.tubes_per_day) : nlohmann::json()}});
  return nlohmann::json{{"round_id", r.round_id},
                        {"slot_minutes", r.slot_minutes},
                        {"residents", r.residents},
                        {"households", r.households},
                        {"single_persons", r.single_persons},
                        {"split_households", r.split_households},
                        {"points", r.points},
                        {"slots", r.slots},
                        {"capacity", r.capacity},
                        {"units", r.units},
                        {"tubes", r.tubes},
                        {"labs", labs},
                        {"labs_short", r.labs_short}}
      .dump();
}

SlotView SlotService::view(std::int64_t round_id, const std::string& area, const Caller& c) {
  require(c, Permission::test_read);
  return store::in_transaction(repo_, [&] {
    SlotView v;
    v.round = visible_round(round_id, c);
    v.area = area_of(v.round, area, c);
    v.plan = slots_->plan(v.round.id);
    if (!v.plan) return v;
    auto tally = slots_->tally(v.round.id, v.area, v.round.area_code, false);
    for (const auto& t : tally) {
      v.planned += t.planned;
      v.units += t.units;
    }
    if (v.planned <= compare_limit) {
      tally = slots_->tally(v.round.id, v.area, v.round.area_code, true);
      v.compared = true;
      v.sampled = 0;
      for (const auto& t : tally) *v.sampled += t.sampled;
    }
    std::map<std::int64_t, const store::SlotTally*> by_slot;
    for (const auto& t : tally) by_slot[t.slot_id] = &t;
    const Instant now = clock_.now();
    const Instant day0 = local_.start_of(v.round.day);
    std::map<std::int64_t, std::size_t> point_index;
    for (auto& s : slots_->slots(v.round.id)) {
      auto it = by_slot.find(s.id);
      // A slot is shown when it holds units of the area or its point lies inside the area.
      if (it == by_slot.end() && !in_subtree(s.area_code, v.area)) continue;
      auto [pi, fresh] = point_index.emplace(s.point_id, v.points.size());
      if (fresh) {
        SlotPointView pv;
        if (auto p = nat_->point(s.point_id)) pv.point = std::move(*p);
        pv.point.id = s.point_id;
        v.points.push_back(std::move(pv));
      }
      SlotLine line;
      line.ended = now >= day0 + std::chrono::minutes(s.ends);
      if (it != by_slot.end()) {
        line.units_here = it->second->units;
        line.planned_here = it->second->planned;
        if (v.compared) line.sampled_here = it->second->sampled;
      } else if (v.compared) {
        line.sampled_here = 0;
      }
      line.slot = std::move(s);
      v.points[pi->second].slots.push_back(std::move(line));
    }
    return v;
  });
}

store::PageOf<SlotUnitLine> SlotService::units(std::int64_t round_id, const std::string& area, std::int64_t slot_id,
                                               store::Page page, const Caller& c) {
  require(c, Permission::test_read);
  return store::in_transaction(repo_, [&] {
    const auto r = visible_round(round_id, c);
    const std::string prefix = area_of(r, area, c);
    std::map<std::int64_t, store::SlotRow> slots;
    for (auto& s : slots_->slots(r.id)) slots.emplace(s.id, std::move(s));
    if (slot_id > 0 && !slots.count(slot_id))
      fail(ErrorCode::not_found, "no such slot in this round: " + std::to_string(slot_id), "slot_id");
    auto page_units = slots_->units(r.id, prefix, slot_id, r.area_code, page);
    std::map<std::int64_t, std::string> names;
    store::PageOf<SlotUnitLine> out;
    out.next = page_units.next;
    for (auto& u : page_units.items) {
      SlotUnitLine line;
      auto it = slots.find(u.unit.slot_id);
      if (it != slots.end()) line.slot = it->second;
      auto n = names.find(line.slot.point_id);
      if (n == names.end()) {
        auto p = nat_->point(line.slot.point_id);
        n = names.emplace(line.slot.point_id, p ? p->name : std::string()).first;
      }
      line.point_name = n->second;
      line.unit = std::move(u);
      out.items.push_back(std::move(line));
    }
    return out;
  });
}

std::vector<PersonSlot> SlotService::slots_of_person(std::int64_t person_id) {
  return store::in_transaction(repo_, [&] {
    std::vector<PersonSlot> out;
    auto person = repo_.person(person_id, Scope::everything());
    if (!person || person->area_code.empty()) return out;
    for (auto& r : nat_->rounds(Scope::area(person->area_code), 50)) {
      if (r.status != "open" || !in_subtree(person->area_code, r.area_code)) continue;
      auto u = slots_->unit_of(r.id, person_id, person->household_id);
      if (!u) continue;
      PersonSlot ps;
      for (auto& s : slots_->slots(r.id))
        if (s.id == u->slot_id) ps.slot = std::move(s);
      if (auto p = nat_->point(ps.slot.point_id)) ps.point = std::move(*p);
      ps.household_members = u->members;
      ps.round = std::move(r);
      out.push_back(std::move(ps));
    }
    return out;
  });
}

}  // namespace bihuan::nat
