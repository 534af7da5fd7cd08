#pragma once
// Read-only storage access for the simulator's "start from today" (`bihuan simulate abm
// --from-db`, docs/SIMULATION.md): the registered population with households, areas and
// workplaces, the active control orders, the open cases and the positive results not yet made
// into cases. Every read is batched (keyset pages or one query per table), never a query per
// person. Opened over a Repository and sharing its connection.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

// A person as the simulator needs it (merged persons are left out).
struct SimPersonRow {
  std::int64_t id = 0;
  std::string birth_date;         // 'YYYY-MM-DD' or '' when unknown
  std::int64_t household_id = 0;  // 0 = none
  std::string area_code;          // the person's registered area (a grid for generated cities)
  std::int64_t org_id = 0;        // workplace or school (0 = none)
  std::string org_kind;           // the org's kind ("school", "enterprise", ...; "" = none)
};

// An active control order: its person, group, current stage and day 1 of its plan.
struct SimOrderRow {
  std::int64_t order_id = 0, person_id = 0;
  std::string group, profile, stage;
  std::string start_date;    // 'YYYY-MM-DD'
  std::string release_date;  // '' = not set
};

// An open case (cases.status = 'open') with the sampling time of its result when it has one.
struct SimCaseRow {
  std::int64_t case_id = 0, person_id = 0;
  Instant opened_at{};
  std::optional<Instant> sampled_at;
};

// A current positive lab result received at or after `since` whose person has no case (yet).
struct SimPositiveRow {
  std::int64_t result_id = 0, person_id = 0;
  std::optional<Instant> sampled_at;
  Instant received_at{};
};

class SimRepository {
 public:
  virtual ~SimRepository() = default;
  // Calls fn for every person not merged, in id order, reading pages of `page` rows.
  virtual void for_each_person(const std::function<void(const SimPersonRow&)>& fn, int page = 20000) = 0;
  virtual std::vector<SimOrderRow> active_orders() = 0;
  virtual std::vector<SimCaseRow> open_cases() = 0;
  virtual std::vector<SimPositiveRow> positives_without_case(Instant since) = 0;
};

// `area_prefix` ("" = the whole deployment) limits every read to the persons registered in that
// area's subtree (core/area.hpp), and the orders, cases and results to theirs: a district command
// centre's forecast reads its district only.
std::unique_ptr<SimRepository> open_sim_repository(Repository& repo, std::string area_prefix = "");

}  // namespace bihuan::store
