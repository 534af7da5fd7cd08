#pragma once
// The sampling plan of a round by household and time slot (分时段、按户采样安排), as rules without
// I/O: each sampling point's day cut into time slots with their capacity, and every household of
// the round's area given one slot at a nearby point, households whole, no slot over its capacity.
//
// 1. Point: a household goes to the nearest point serving its grid (in the grid or in an area
//    containing it: grid, community, street, ... the nearest first) that still has room for the
//    whole household that day; grids are taken in code order, so a point fills with the grids
//    around it. What no serving point can take goes, in a second pass, to the points nearest in
//    the area tree (longest common code prefix) with room.
// 2. Slot: at each point its households, in grid and household order (neighbours together), are
//    spread over the slots in proportion to the slots' capacity, so that every slot has the same
//    share of its capacity taken and the queue is even over the day. A household never takes a
//    slot past its capacity; one that fits no slot whole (a collective household larger than a
//    slot, or the last free places scattered over a full point) is split person by person over
//    the point's free places in time order: still one point, consecutive slots where possible.
// A household no point has room for is unplaced: the plan is then short of capacity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bihuan::nat {

struct SlotPoint {
  std::int64_t id = 0;
  std::string area_code;
  int capacity_per_hour = 0;
  std::string opens = "08:00", closes = "20:00";
};

// A household (or a person without one) to place: `members` expected residents in `area_code`.
struct SlotUnit {
  std::int64_t household_id = 0;
  std::int64_t person_id = 0;
  std::string area_code;
  std::int64_t members = 0;
};

struct Slot {
  std::size_t point = 0;        // index in the points given
  int starts = 0, ends = 0;     // minutes after local midnight of the round's day, ends <= 1440
  std::int64_t capacity = 0;    // capacity per hour x length (persons)
  std::int64_t planned = 0;     // persons placed
};

// The slots of a point with these hours on a day: from opening to closing (a point open past
// midnight samples from 00:00 to its closing and from its opening to 24:00; around the clock:
// 00:00-24:00), `slot_minutes` long, the last one shorter where the hours end; slots whose
// capacity would be 0 persons are left out.
std::vector<std::pair<int, int>> slot_times(const std::string& opens, const std::string& closes, int slot_minutes);

struct SlotSplit {
  std::size_t unit = 0;
  std::vector<std::pair<std::size_t, std::int64_t>> parts;  // (slot, persons) in time order
};

struct SlotPlan {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::vector<Slot> slots;             // by point in the order given, then by time
  std::vector<std::size_t> unit_slot;  // per unit: its slot; npos when split or unplaced
  std::vector<SlotSplit> splits;       // units split person by person over slots of one point
  std::vector<std::size_t> unplaced;   // units no point had room for
  std::int64_t residents = 0, capacity = 0, placed = 0;
};

// `units` sorted by area code, then household (the order households are placed in).
SlotPlan plan_slots(const std::vector<SlotPoint>& points, const std::vector<SlotUnit>& units, int slot_minutes);

// "HH:MM" of minutes after midnight (1440 is "24:00").
std::string clock_text(int minute);

}  // namespace bihuan::nat
