#pragma once
// Storage of the needs of people who cannot go out (保供, migration v20): household needs
// records, vulnerable people flagged by grid workers, requests with their status history, and
// medical trips. Shares the connection and transactions of a Repository. Reads that take a Scope
// apply it inside the query (the household's or person's area); the others return rows unscoped:
// src/supply checks the caller.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"
#include "core/rbac.hpp"
#include "core/supply.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct HouseholdNeedsRow {
  std::int64_t household_id = 0;
  std::string area_code;
  supply::NeedsRecord record;
  int version = 0;  // 0 = none recorded yet
  std::int64_t recorded_by = 0;
  std::string recorded_by_name;
  Instant recorded_at{};
};

// A controlled household (a member under home isolation or a high-risk area's control:
// core/supply controlled_household) with what the grid knows about it.
struct ControlledHouseholdRow {
  std::int64_t household_id = 0;
  std::string household_no, address, area_code;
  std::int64_t controlled = 0;       // members under control
  std::string release_date;          // the latest planned release of their orders ("" = none)
  int needs_version = 0;             // 0 = no needs record yet
  std::optional<Instant> needs_recorded_at;
  std::int64_t vulnerable = 0;       // active flags of its members
  std::int64_t open_requests = 0;
};

// A household of a risk area's unit (compound = grid, building, unit, floor, household), with what
// the needs lists count: the caller keeps those the unit holds (core/risk holds) by building and
// address.
struct UnitHouseholdRow {
  std::int64_t household_id = 0, building_id = 0;
  std::string household_no, address, area_code;
  std::int64_t members = 0;     // registered members (not merged)
  std::int64_t controlled = 0;  // members under home isolation or a high-risk area's control
  int needs_version = 0;        // 0 = no needs record yet
  std::int64_t vulnerable = 0;  // active flags of its members
  std::int64_t open_requests = 0;
};

// A household member as the needs page lists it.
struct HouseholdMemberRow {
  std::int64_t person_id = 0;
  std::string name, doc_number, phone, sex, birth_date;
  std::int64_t order_id = 0;  // the active order that keeps the person at home, 0 = none
  std::string stage, source, release_date;
};

struct VulnerableRow {
  std::int64_t id = 0, person_id = 0;
  std::string category, detail, area_code;
  std::int64_t flagged_by = 0;
  std::string flagged_by_name;
  Instant flagged_at{};
  std::optional<Instant> cleared_at;
  std::int64_t cleared_by = 0;
  std::string cleared_reason;
  // joined, read-only (unmasked: the API masks)
  std::string name, doc_number, phone, sex, birth_date, address;
  std::int64_t household_id = 0;
  bool controlled = false;  // the person's household is a controlled household today
};

struct VulnerableFilter {
  std::string area;        // an area inside the scope ("" = the whole scope)
  std::string category;    // "" = every category
  bool controlled = false; // only people in controlled households
  std::int64_t person_id = 0;
};

// Active flags per grid and category (the twenty measures' lists per controlled area).
struct VulnerableCount {
  std::string area_code, category;
  std::int64_t people = 0, controlled = 0;
};

struct RequestRow {
  std::int64_t id = 0, person_id = 0, household_id = 0, order_id = 0;
  std::string area_code;
  std::string kind, priority, detail;
  std::optional<Instant> appointment_at;
  Instant deadline{};
  std::string owner_kind;       // core/supply OwnerKind name
  std::int64_t owner_org = 0;   // hospital organisation or supply station id
  std::string owner_area;       // grid owner
  std::string owner_name;       // volunteer team, station or hospital name
  std::string status = "received";
  std::string reason;
  Instant received_at{};
  std::int64_t received_by = 0;
  Instant updated_at{};
  std::optional<Instant> served_at, escalated_at;  // escalated_at: when it first went to its grid
  std::int64_t alert_id = 0;
  int escalation_level = 0;  // core/supply: 0 none, 1 grid, 2 street, 3 district, 4 city
  // joined, read-only (unmasked: the API masks)
  std::string name, doc_number, phone, address;
  std::int64_t trip_id = 0;
};

struct RequestEventRow {
  std::int64_t id = 0, request_id = 0;
  Instant at{};
  std::int64_t user_id = 0;
  std::string username, status, note;
};

struct RequestFilter {
  std::string area;      // inside the scope ("" = the whole scope)
  std::string status;    // a status, or "open"
  std::string kind;      // a kind, or "medical"
  std::int64_t household_id = 0, person_id = 0;
  std::int64_t station_id = 0;  // the requests a supply station serves (owner_kind supply_station)
};

struct TripRow {
  std::int64_t id = 0, request_id = 0, order_id = 0, transfer_org = 0, hospital_org = 0;
  std::string home_stage, home_area, vehicle, escort;
  std::string status = "booked";
  Instant booked_at{};
  std::int64_t booked_by = 0;
  Instant updated_at{};
  // joined, read-only
  std::string transfer_name, hospital_name;
};

class NeedsRepository {
 public:
  virtual ~NeedsRepository() = default;

  // --- households
  // Controlled households inside the scope and `area`, by household id (keyset on it).
  virtual PageOf<ControlledHouseholdRow> controlled_households(const Scope& scope, const std::string& area,
                                                               Page page) = 0;
  virtual bool is_controlled_household(std::int64_t household_id) = 0;
  virtual std::optional<HouseholdNeedsRow> needs(std::int64_t household_id) = 0;
  // Inserts or replaces the record; its version becomes the stored one + 1 (filled in).
  virtual void put_needs(HouseholdNeedsRow& r) = 0;
  virtual std::vector<HouseholdMemberRow> members(std::int64_t household_id) = 0;

  // --- vulnerable people
  virtual std::optional<VulnerableRow> flag(std::int64_t id) = 0;
  virtual std::optional<VulnerableRow> active_flag(std::int64_t person_id, const std::string& category) = 0;
  virtual std::int64_t insert_flag(VulnerableRow& v) = 0;  // fills id
  virtual void clear_flag(std::int64_t id, Instant at, std::int64_t by, const std::string& reason) = 0;
  virtual PageOf<VulnerableRow> flags(const VulnerableFilter& f, const Scope& scope, Page page) = 0;
  // Active flags counted per grid (person's area) and category inside the scope and `area`,
  // only grids with at least one controlled household.
  virtual std::vector<VulnerableCount> counts(const Scope& scope, const std::string& area) = 0;
  // Households that may lie in a risk area's unit: those of a grid (kind "grid", `grid`), of a
  // building (kind "building", `id`) or one household (kind "household", `id`), by id.
  virtual std::vector<UnitHouseholdRow> unit_households(const std::string& kind, std::int64_t id,
                                                        const std::string& grid) = 0;
  // The active flags of the members of these households (not merged), by household then id.
  virtual std::vector<VulnerableRow> flags_of_households(const std::vector<std::int64_t>& household_ids) = 0;

  // --- requests
  virtual std::optional<RequestRow> request(std::int64_t id) = 0;
  virtual std::int64_t insert_request(RequestRow& r) = 0;  // fills id
  virtual void update_request(const RequestRow& r) = 0;   // status, owner, reason, times, alert
  virtual PageOf<RequestRow> requests(const RequestFilter& f, const Scope& scope, Page page) = 0;
  virtual void add_event(const RequestEventRow& e) = 0;
  virtual std::vector<RequestEventRow> events(std::int64_t request_id) = 0;  // oldest first
  // Open medical requests due for their next escalation level: those at level k (0..3) whose
  // deadline is before due_before[k] (now minus the minutes from the deadline to level k + 1).
  virtual std::vector<RequestRow> late_medical(const std::array<Instant, 4>& due_before, int limit) = 0;

  // --- trips
  virtual std::optional<TripRow> trip(std::int64_t id) = 0;
  virtual std::optional<TripRow> trip_of_request(std::int64_t request_id) = 0;
  virtual std::int64_t insert_trip(TripRow& t) = 0;  // fills id
  virtual void update_trip(const TripRow& t) = 0;    // status, updated_at
  // Trips of the order not yet home (at most one: a person makes one trip at a time).
  virtual std::optional<TripRow> open_trip_of_order(std::int64_t order_id) = 0;
};

std::unique_ptr<NeedsRepository> open_needs_repository(Repository& repo);

}  // namespace bihuan::store
