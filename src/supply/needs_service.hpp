#pragma once
// Needs of people who cannot go out (保供, docs/API-supply.md): the needs records of controlled
// households (home isolation, high-risk areas), the vulnerable people grid workers flag and the
// lists of them per controlled area (the twenty measures), requests with priority, deadline by
// kind, owner and status, the watcher's pass that sends late medical requests to the command
// centre, and medical trips: a medical request books a vehicle of the transfer team and each leg
// of the trip is a handover of the person's control order (src/loop), so the person never leaves
// custody.
//
// Every operation checks the caller inside its transaction (docs/SECURITY.md): a household,
// person, request or trip outside the caller's area answers exactly like one that does not exist.
// Reads need loop.read (and person.read where persons are listed, each read audited); writes
// loop.write. Area callers act on their area's households and requests; a hospital on the
// requests it serves; a transfer team and a hospital on the trips they take part in.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/loop.hpp"
#include "core/supply.hpp"
#include "store/loop_repository.hpp"
#include "store/needs_repository.hpp"
#include "store/risk_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Service;
}  // namespace bihuan::loop

namespace bihuan::supply {

// The deadlines by kind (settings supply.deadline_minutes.KIND, kDeadlineSettings).
DeadlineRules read_deadline_rules(store::Repository& repo);

struct HouseholdView {
  Household household;
  bool controlled = false;
  std::optional<store::HouseholdNeedsRow> needs;
  std::vector<store::HouseholdMemberRow> members;      // unmasked: the API masks
  std::vector<store::VulnerableRow> flags;    // the members' active flags
  std::vector<store::RequestRow> requests;    // the household's requests, newest first (at most 50)
};

struct NewRequest {
  std::int64_t person_id = 0;
  RequestKind kind = RequestKind::necessities;
  std::optional<Priority> priority;
  std::string detail;
  std::optional<Instant> appointment_at;
  // Who serves it; default the person's grid.
  std::optional<OwnerKind> owner_kind;
  std::int64_t owner_org = 0;  // hospital organisation or supply station id
  std::string owner_name;      // volunteer team (required for one), station
};

struct StatusChange {
  RequestStatus to = RequestStatus::accepted;
  std::string note;  // the reason of a refusal
  std::optional<OwnerKind> owner_kind;  // hand the request to another owner on the way
  std::int64_t owner_org = 0;
  std::string owner_name;
};

struct RequestDetail {
  store::RequestRow request;
  std::vector<store::RequestEventRow> events;
  bool late = false;
};

struct Booking {
  std::int64_t transfer_org = 0;  // the transfer team (转运组)
  std::int64_t hospital_org = 0;  // where the visit is
  std::string vehicle, escort;
};

struct TripView {
  store::TripRow trip;
  std::optional<TripStatus> status;      // nullopt: the order left the trip's stages
  loop::Stage stage = loop::Stage::home_isolation;  // the order's current stage
  std::optional<loop::Handover> pending;  // the leg waiting for its receiver
  std::vector<loop::Handover> legs;       // the trip's handovers, oldest first
  std::optional<loop::Stage> next;        // the next step once nothing is pending
  store::RequestRow request;
};

// The needs lists of one risk area (the twenty measures' lists per controlled area), whatever unit
// it is drawn on: a compound (grid), a building, a unit or floor of a building, a household.
// Households are those of the registry the unit holds (core/risk holds: by building and address).
struct RiskAreaNeeds {
  std::int64_t risk_area_id = 0;
  std::string unit_kind, unit_ref, unit_name, area_code, level, status;
  std::int64_t households = 0, controlled_households = 0, needs_recorded = 0, open_requests = 0;
  std::vector<std::pair<std::string, std::int64_t>> vulnerable;  // active flags by category
  std::vector<store::UnitHouseholdRow> household_rows;  // one area's list only
  std::vector<store::VulnerableRow> flags;              // one area's list only (unmasked: the API masks)
};

class NeedsService {
 public:
  NeedsService(store::Repository& repo, loop::Service& loop, const Clock& clock, DeadlineRules rules,
               LocalTime local);
  ~NeedsService();

  // --- households
  store::PageOf<store::ControlledHouseholdRow> households(const std::string& area, const Caller& c, store::Page page);
  // A household of the caller's area with its needs, members, flags and requests (audited as a
  // person read of its members).
  HouseholdView household(std::int64_t household_id, const Caller& c);
  // Records (or replaces) the needs of a controlled household; Error(invalid_argument,
  // "household_id") when the household is not controlled.
  store::HouseholdNeedsRow record_needs(std::int64_t household_id, const NeedsRecord& r, const Caller& c);

  // --- vulnerable people
  store::VulnerableRow flag(std::int64_t person_id, Vulnerability v, const std::string& detail, const Caller& c);
  store::VulnerableRow clear_flag(std::int64_t flag_id, const std::string& reason, const Caller& c);
  store::PageOf<store::VulnerableRow> vulnerable(const store::VulnerableFilter& f, const Caller& c, store::Page page);
  std::vector<store::VulnerableCount> vulnerable_counts(const std::string& area, const Caller& c);
  // The lists per risk area: every published risk area inside the caller's area (and `area`) with
  // its households, controlled households, needs records, open requests and vulnerable people by
  // category (loop.read; an organisation scope sees none). Counts only: no person listed.
  std::vector<RiskAreaNeeds> risk_area_needs(const std::string& area, const Caller& c);
  // One risk area's lists with its households and vulnerable people (loop.read and person.read;
  // audited person.search with the ids listed); outside the caller's area like an unknown one.
  RiskAreaNeeds risk_area_needs_of(std::int64_t risk_area_id, const Caller& c);

  // --- requests
  // The person must live in the caller's area (else not_found, as for an unknown person) and be
  // under control at home (else invalid_argument naming person_id). Nothing is written on error.
  store::RequestRow create_request(const NewRequest& n, const Caller& c);
  RequestDetail request(std::int64_t id, const Caller& c);
  store::PageOf<store::RequestRow> requests(const store::RequestFilter& f, const Caller& c, store::Page page);
  // Error(conflict) for a request with a trip: its status follows the trip. Cancelling (status
  // cancelled, a reason) is the exception: a request whose trip is booked but not yet picked up
  // is cancelled with its trip, the trip's pending first leg withdrawn in the loop (the caller
  // must act for the person's home grid, who sent it) in the same transaction; the person stays
  // at home. After the pick-up: Error(conflict), the trip brings them back leg by leg.
  store::RequestRow set_status(std::int64_t id, const StatusChange& s, const Caller& c);
  // A delivery naming the request moves it (on the way when packed, delivered at the door): the
  // caller's right comes from the delivery (Deliveries checked the station and the household),
  // so a station's staff (supply.write, no loop.write) moves it too. Audited like set_status.
  store::RequestRow follow_delivery(std::int64_t id, const StatusChange& s, const Caller& c);
  // The watcher's pass: open medical requests past their deadline go to the command centre as a
  // critical loop alert (kind medical_request_late on the person's order, escalated to the county
  // level at once); each request once. Returns the requests escalated.
  std::vector<store::RequestRow> sweep(Instant now);

  // --- medical trips
  // Books the transfer team for an open medical request: the first leg (home → transfer) is sent
  // as a handover of the person's order by the caller (who must act for the order's owner), and
  // the request is accepted and owned by the hospital.
  TripView book_trip(std::int64_t request_id, const Booking& b, const Caller& c);
  TripView trip(std::int64_t trip_id, const Caller& c);
  // The caller's next step of the trip: acknowledges the pending leg when the caller is its
  // receiver (the transfer team picks up, the hospital receives, the team takes them back, the
  // home grid receives and puts them back in their home stage), or sends the next leg when the
  // caller holds the person. Error(conflict) when the step is someone else's.
  TripView advance_trip(std::int64_t trip_id, const std::string& note, const Caller& c);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});
  Household visible_household(std::int64_t id, const Caller& c);
  store::RequestRow visible_request(std::int64_t id, const Caller& c);
  store::TripRow visible_trip(std::int64_t id, const Caller& c);
  void set_owner(store::RequestRow& r, OwnerKind k, std::int64_t org, const std::string& name);
  void change_status(store::RequestRow& r, RequestStatus to, const std::string& note, const Caller& c);
  // A risk area's households and flags (inside the caller's transaction); details also lists them.
  RiskAreaNeeds needs_of_area(const store::RiskAreaRow& a, bool details);
  TripView view_of(const store::TripRow& t);
  // Cancels a booked trip (inside the caller's transaction): withdraws its pending first leg.
  void cancel_trip(store::TripRow& t, const std::string& reason, const Caller& c);
  // Brings the trip's and the request's status up to what the order says.
  void sync(store::TripRow& t, const Caller& c);

  store::Repository& repo_;
  loop::Service& loop_;
  const Clock& clock_;
  DeadlineRules rules_;
  LocalTime local_;
  std::unique_ptr<store::NeedsRepository> n_;
};

}  // namespace bihuan::supply
