#pragma once
// A round's sampling plan by household and time slot (分时段、按户采样安排, docs/API-testing.md):
// the command centre of the round's area has every expected resident of the area placed in one
// time slot of a nearby sampling point, households whole (nat/slot_plan.hpp); grid workers and
// the command centre see the slots of their area with what was planned and what was sampled,
// and the list of households with their slot; a resident sees their household's slot.
//
// Every call takes the caller and checks it inside the transaction: a round outside the
// caller's area (and any round for an organisation's account) answers like an unknown round; an
// area outside the round or the caller's scope answers like an unknown area.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"
#include "store/slot_repository.hpp"

namespace bihuan::nat {

// A lab's share of a plan: the tubes of the planned persons of the points sending it their
// boxes, at the round's pooling ratio, against the tubes a day it can test (the setting
// capacity.tubes.<lab code>; none when unset).
struct SlotLabLoad {
  std::int64_t lab_org_id = 0;
  std::string name;
  std::int64_t persons = 0, tubes = 0;
  std::optional<std::int64_t> tubes_per_day;
};

// What a made plan holds.
struct SlotPlanReport {
  std::int64_t round_id = 0;
  int slot_minutes = 60;
  std::int64_t residents = 0, households = 0, single_persons = 0;  // single: persons without a household
  std::int64_t split_households = 0;  // households spread over several slots of their point
  std::int64_t points = 0, slots = 0, capacity = 0;
  std::int64_t units = 0;  // rows of the plan
  std::int64_t tubes = 0;  // at the round's pooling ratio, point by point
  std::vector<SlotLabLoad> labs;  // by lab id; lab 0: points without a lab
  std::int64_t labs_short = 0;    // labs whose tubes exceed their tubes a day
};
// The report as JSON (the job's result and `bihuan round slots --json`).
std::string to_json(const SlotPlanReport& r);

// One slot of a point as an area sees it.
struct SlotLine {
  store::SlotRow slot;
  std::int64_t units_here = 0, planned_here = 0;  // the area's units and persons in the slot
  std::optional<std::int64_t> sampled_here;      // of those persons, sampled in the round (when compared)
  bool ended = false;                            // the slot's end has passed (the round's day, local)
};
struct SlotPointView {
  store::SamplingPointRow point;
  std::vector<SlotLine> slots;
};
struct SlotView {
  store::RoundRow round;
  std::string area;  // the area asked for (inside the round and the caller's scope)
  std::optional<store::SlotPlanRow> plan;
  std::int64_t planned = 0, units = 0;
  std::optional<std::int64_t> sampled;  // when compared
  bool compared = false;  // sampled counts are given (areas of at most compare_limit planned persons)
  std::vector<SlotPointView> points;
};

struct SlotUnitLine {
  store::SlotUnitView unit;
  store::SlotRow slot;
  std::string point_name;
};

// A person's slot in a round (a resident's own view).
struct PersonSlot {
  store::RoundRow round;
  store::SlotRow slot;
  store::SamplingPointRow point;
  std::int64_t household_members = 0;  // persons of the unit (1 for a person's own)
};

class SlotService {
 public:
  // Planned persons an area may have for the comparison with what was sampled to be computed in
  // a request (larger areas: ask per street; the round's coverage counts the whole area).
  static constexpr std::int64_t compare_limit = 200000;

  SlotService(store::Repository& repo, const Clock& clock, LocalTime local);
  ~SlotService();

  // The round as the planner sees it: test.manage and the round's area inside the caller's
  // (a round outside answers like an unknown one); for a job's submission.
  store::RoundRow plannable_round(std::int64_t round_id, const Caller& c);
  // Makes (or makes again, replacing it) the round's plan in one transaction: slots of
  // `slot_minutes` (10..240) at the active points of the round's area (or of an area containing
  // it), every expected resident placed. Fails, writing nothing, when the points cannot take
  // everyone (naming the grids short of places). progress(0..1); stop() true aborts (nothing kept).
  SlotPlanReport make_plan(std::int64_t round_id, int slot_minutes, const Caller& c,
                           const std::function<void(double)>& progress = {},
                           const std::function<bool()>& stop = {});
  // The slots holding units of `area` ("" = the round's area, or the caller's part of it), with
  // the planned and, for areas up to compare_limit planned persons, the sampled persons.
  SlotView view(std::int64_t round_id, const std::string& area, const Caller& c);
  // The units (households, single persons) of `area` with their slot; slot_id > 0: of one slot.
  store::PageOf<SlotUnitLine> units(std::int64_t round_id, const std::string& area, std::int64_t slot_id,
                                    store::Page page, const Caller& c);
  // A resident's slots: for each open round with a plan whose area holds the person.
  std::vector<PersonSlot> slots_of_person(std::int64_t person_id);

 private:
  store::RoundRow visible_round(std::int64_t id, const Caller& c);
  std::string area_of(const store::RoundRow& r, const std::string& area, const Caller& c);

  store::Repository& repo_;
  std::unique_ptr<store::NatRepository> nat_;
  std::unique_ptr<store::SlotRepository> slots_;
  const Clock& clock_;
  LocalTime local_;
};

}  // namespace bihuan::nat
