#pragma once
// Storage of a round's sampling plan by household and time slot (分时段、按户采样安排, v32,
// docs/API-testing.md): the plan, the points' time slots and the units (a household, or one
// person) each in one slot. Opened over a Repository and sharing its connection and
// transactions; the service (src/nat/slots.cpp) checks the caller's scope.
#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct SlotPlanRow {
  std::int64_t round_id = 0;
  int slot_minutes = 60;
  std::int64_t residents = 0;  // persons planned
  std::int64_t units = 0;      // units (households and single persons)
  std::int64_t points = 0;     // points with at least one slot
  std::int64_t capacity = 0;   // persons the slots take
  Instant made_at{};
  std::int64_t made_by = 0;
};

struct SlotRow {
  std::int64_t id = 0, round_id = 0, point_id = 0;
  std::string area_code;  // the point's area
  int starts = 0, ends = 0;  // minutes after local midnight of the round's day
  std::int64_t capacity = 0, planned = 0;
};

struct SlotUnitRow {
  std::int64_t id = 0, round_id = 0;
  std::string area_code;  // the household's grid
  std::int64_t household_id = 0;  // 0: a person without a household
  std::int64_t person_id = 0;     // 0: the whole household
  std::int64_t slot_id = 0;
  std::int64_t members = 0;
};

// Persons planned (and sampled) per slot for the units of an area.
struct SlotTally {
  std::int64_t slot_id = 0;
  std::int64_t units = 0, planned = 0, sampled = 0;
};

// A unit as the grid worker's list shows it: the household's address (a person's own without
// one) and how many of its planned persons are sampled in the round.
struct SlotUnitView {
  SlotUnitRow unit;
  std::string address;
  std::int64_t sampled = 0;
};

class SlotRepository {
 public:
  virtual ~SlotRepository() = default;

  // Area codes persons (not merged) are registered in inside the subtree of `prefix`, in order.
  virtual std::vector<std::string> resident_areas(const std::string& prefix) = 0;
  // Persons (not merged) registered in exactly `area_code`: fn(person id, household id or 0).
  virtual void residents_in(const std::string& area_code,
                            const std::function<void(std::int64_t, std::int64_t)>& fn) = 0;
  // Members (not merged) of a household registered inside the subtree of `prefix`, by id.
  virtual std::vector<std::int64_t> household_members(std::int64_t household_id, const std::string& prefix) = 0;

  // Replaces the round's plan as a whole (call inside a transaction). The slots get their ids;
  // each unit's slot_id is the index of its slot in `slots`. progress(units written).
  virtual void replace_plan(const SlotPlanRow& made, std::vector<SlotRow>& slot_rows,
                            const std::vector<SlotUnitRow>& unit_rows,
                            const std::function<void(std::size_t)>& progress) = 0;
  virtual std::optional<SlotPlanRow> plan(std::int64_t round_id) = 0;
  virtual std::vector<SlotRow> slots(std::int64_t round_id) = 0;
  // Units and persons planned per slot for the units of the subtree of `prefix`; with `sampled`,
  // also the planned persons sampled in the round (residents of `round_area`, not excluded).
  virtual std::vector<SlotTally> tally(std::int64_t round_id, const std::string& prefix, const std::string& round_area,
                                       bool sampled) = 0;
  // The units of the subtree of `prefix` (of one slot when slot_id > 0), by id; keyset on id.
  virtual PageOf<SlotUnitView> units(std::int64_t round_id, const std::string& prefix, std::int64_t slot_id,
                                     const std::string& round_area, Page page) = 0;
  // The unit holding a person: its own, or its household's; none when the person is excluded
  // from the round (away, moved, ...: a household's unit does not cover them).
  virtual std::optional<SlotUnitRow> unit_of(std::int64_t round_id, std::int64_t person_id,
                                             std::int64_t household_id) = 0;
};

std::unique_ptr<SlotRepository> open_slot_repository(Repository& repo);

}  // namespace bihuan::store
