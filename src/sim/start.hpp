#pragma once
// "Start from today" (docs/SIMULATION.md): a snapshot of a bihuan database (persons with their
// households, areas and workplaces or schools; active control orders; open cases and positive
// results) turned into the simulator's population and the state of day 0. The snapshot is plain
// data: sim/db/start_db.hpp reads it through the store's repositories (only src/store runs SQL).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "sim/abm.hpp"
#include "sim/population.hpp"

namespace bihuan::sim {

struct StartSnapshot {
  Date today{};
  std::string active_profile;  // the deployment's active profile (setting loop.active_profile)
  struct Person {
    std::int64_t id = 0;
    int age = 35;
    std::int64_t household = 0;  // 0 = none (a household of one)
    std::uint32_t area = 0;      // index into areas
    std::int64_t org = 0;        // workplace or school, 0 = none
    bool school = false;
  };
  struct Order {
    std::int64_t person_id = 0;
    std::string group, stage;
    Date start{};  // plan day 1
  };
  struct Case {
    std::int64_t person_id = 0;
    Date sampled{}, result{};  // the sampling day; the day the case was opened or the result received
    bool opened = false;       // an open case; false: a positive result without a case
  };
  std::vector<std::string> areas;  // area codes (grids), interned by add_area
  std::vector<Person> persons;
  std::vector<Order> orders;
  std::vector<Case> cases;
  std::int64_t unknown_ages = 0;  // persons without a birth date (age 35 assumed)

  std::uint32_t add_area(const std::string& code);  // index of code, added when new

 private:
  std::vector<std::pair<std::string, std::uint32_t>> area_index_;  // sorted by code
};

struct StartBuild {
  Population pop;
  std::shared_ptr<const StartState> state;
  std::vector<std::int64_t> person_of_agent;  // database person id of each agent
  std::int64_t orders = 0, orders_skipped = 0;  // skipped: person unknown, released stage, a second order
  std::int64_t cases = 0, positives = 0, cases_skipped = 0;
};

// Persons are numbered area by area (areas in code order), household by household, so a grid
// (an area) and a household are index ranges as in a generated city. Workplaces and schools are
// split into groups of opt.workplace_size and opt.class_size (members by age, then id). Errors:
// an empty snapshot, a stage that is not a loop stage.
StartBuild build_start(const StartSnapshot& s, const PopulationOptions& opt);

// The measure of a loop stage (quarantine site, transfer, port, hospital: central; destination
// community and home isolation: at home; home monitoring: monitoring); nullopt for released.
std::optional<policy::Measure> measure_of_stage(const std::string& stage);

}  // namespace bihuan::sim
