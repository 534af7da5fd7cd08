#pragma once
// Storage of risk areas (高/中/低风险区, migration v13): the areas, their versions, the proposals
// of the profile's rules, the control orders an area created; and the facts the rules read
// (cases with their residence and places, rounds over an area, residents of a unit). Shares the
// connection and transactions of a Repository. Rows are returned unscoped except where a Scope
// is taken: src/risk checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct RiskAreaRow {
  std::int64_t id = 0;
  std::string unit_kind, unit_ref, unit_name, area_code;
  std::string level, designated, status = "published";  // published | lifted
  std::string level_since, last_infection;                // YYYY-MM-DD ("" = none)
  std::string reason;
  std::vector<std::int64_t> case_ids;
  std::string profile;
  Instant created_at{}, updated_at{};
  std::int64_t created_by = 0;
  std::optional<Instant> lifted_at;
};

struct RiskVersionRow {
  std::int64_t id = 0, area_id = 0, proposal_id = 0, changed_by = 0;
  std::string level, status, level_since, reason, note, changed_by_name;
  Instant changed_at{};
};

struct RiskProposalRow {
  std::int64_t id = 0, area_id = 0;
  std::string kind;  // designate | raise | downgrade | lift
  std::string unit_kind, unit_ref, unit_name, area_code, from_level, level, reason, source;
  std::vector<std::int64_t> case_ids;
  std::string last_infection, profile;
  std::string status = "pending";  // pending | approved | rejected | superseded
  Instant proposed_at{};
  std::int64_t proposed_by = 0, decided_by = 0;
  std::optional<Instant> decided_at;
  std::string decision_note;
};

struct RiskAreaFilter {
  std::string status = "published";  // "" = any
  std::string level;                  // "" = any
  std::string unit_kind;              // "" = any
  std::string area_prefix;            // "" = any (inside the scope)
};

// A counted-or-not case with what the rules need (core/risk CaseFacts).
struct RiskCaseRow {
  std::int64_t id = 0, person_id = 0;
  std::string classification, found_by, case_area;
  std::optional<Instant> first_positive_at, diagnosed_at, window_start, window_end;
  Instant opened_at{};
  std::string grid;  // the person's area code
  std::int64_t building_id = 0, household_id = 0;
  std::string address;  // the household's address
};

// A place of a case: a place the investigator added or a venue scan inside its window.
struct RiskPlaceRow {
  std::int64_t case_id = 0;
  std::string grid, label;
  Instant from{}, to{};
};

struct RiskRoundRow {
  std::int64_t id = 0;
  std::string day;  // YYYY-MM-DD
  std::string status;
  std::int64_t tubes = 0, pending = 0, positives = 0;
};

struct RiskResident {
  std::int64_t person_id = 0;
  std::string area_code;  // the person's grid
  std::int64_t building_id = 0, household_id = 0;
  std::string address;
};

class RiskRepository {
 public:
  virtual ~RiskRepository() = default;

  // --- areas
  virtual std::optional<RiskAreaRow> area(std::int64_t id) = 0;
  virtual std::optional<RiskAreaRow> published_area(const std::string& kind, const std::string& ref) = 0;
  // Newest first; area scope: area_code inside it; org scope: nothing.
  virtual std::vector<RiskAreaRow> areas(const RiskAreaFilter& f, const Scope& scope, int limit) = 0;
  virtual std::int64_t insert_area(RiskAreaRow& a) = 0;  // fills id; conflict when the unit has a published area
  virtual void update_area(const RiskAreaRow& a) = 0;
  virtual void set_last_infection(std::int64_t id, const std::string& day) = 0;
  virtual std::int64_t add_version(RiskVersionRow& v) = 0;
  virtual std::vector<RiskVersionRow> versions(std::int64_t area_id) = 0;

  // --- proposals
  virtual std::int64_t insert_proposal(RiskProposalRow& p) = 0;  // fills id
  virtual std::optional<RiskProposalRow> proposal(std::int64_t id) = 0;
  virtual std::optional<RiskProposalRow> pending_for(const std::string& kind, const std::string& ref) = 0;
  // The latest approved or rejected proposal for the unit.
  virtual std::optional<RiskProposalRow> last_decided(const std::string& kind, const std::string& ref) = 0;
  virtual std::vector<RiskProposalRow> proposals(const std::string& status, const Scope& scope, int limit) = 0;
  // Sets status, decider and note of a pending proposal; false when it is not pending.
  virtual bool decide_proposal(std::int64_t id, const std::string& status, std::int64_t by, Instant at,
                               const std::string& note) = 0;

  // --- orders an area created
  virtual void add_area_order(std::int64_t area_id, std::int64_t order_id, const std::string& level) = 0;
  virtual std::vector<std::int64_t> unreleased_orders(std::int64_t area_id) = 0;
  virtual void mark_released(std::int64_t area_id, std::int64_t order_id) = 0;
  virtual std::int64_t count_orders(std::int64_t area_id) = 0;

  // --- facts
  // Cases (not suspected) opened at or after `since`, registered or living inside the scope.
  virtual std::vector<RiskCaseRow> cases_since(Instant since, const Scope& scope) = 0;
  virtual std::vector<RiskCaseRow> cases_by_ids(const std::vector<std::int64_t>& ids) = 0;
  // Places of the cases: case_places and venue scans of the case's person inside its window.
  virtual std::vector<RiskPlaceRow> places_of(const std::vector<RiskCaseRow>& cases) = 0;
  // Rounds whose area contains `grid`, sampled on or after `from` (YYYY-MM-DD), with tube counts.
  virtual std::vector<RiskRoundRow> rounds_over(const std::string& grid, const std::string& from) = 0;
  // Residents of a building (kind building/unit/floor: the caller filters by address), a
  // household or a grid; not merged.
  virtual std::vector<RiskResident> residents(const std::string& kind, std::int64_t id_or_zero,
                                              const std::string& grid) = 0;
  // The display name and the grid of a unit: grid -> (area name, code), building -> (address,
  // area code), household -> (address, area code). nullopt when the registry has no such unit.
  virtual std::optional<std::pair<std::string, std::string>> unit_place(const std::string& kind, std::int64_t id,
                                                                        const std::string& grid) = 0;
  // The names of the district (county level) and street above an area code.
  virtual std::string area_name(const std::string& code) = 0;
};

std::unique_ptr<RiskRepository> open_risk_repository(Repository& repo);

}  // namespace bihuan::store
