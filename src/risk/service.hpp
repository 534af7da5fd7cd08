#pragma once
// Risk areas (高/中/低风险区, docs/API-risk.md): the active profile's rules (core/risk) run over the
// cases, current areas and rounds of the caller's area and write proposals; the command centre
// approves (publishes) or rejects them, designates areas by hand and lifts them. Consequences
// follow by rule through the closed loop in the same transaction as the area change: the
// residents of a published high (or medium) area get the level's group as control orders
// (people already under an order are skipped; create_or_refer decides the owner or refers), and
// a downgrade or lift releases the orders the area created.
//
// Every operation takes the caller and checks it inside the transaction (docs/SECURITY.md):
// writes need risk.manage and a unit whose grid lies inside the caller's area; an area, proposal
// or unit outside it answers exactly like one that does not exist. Reading areas needs
// analytics.read or risk.manage; the public list (public_areas) serves published areas only,
// with nothing personal.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/risk.hpp"
#include "store/repository.hpp"
#include "store/risk_repository.hpp"

namespace bihuan::loop {
class Service;
}  // namespace bihuan::loop

namespace bihuan::risk {

struct Settings {
  LocalTime local;
  int lookback_days = 21;  // cases opened this many days back are read by propose
};

// An area as the centre's list shows it.
struct AreaView {
  store::RiskAreaRow row;
  std::string district, street;      // names of the county and street above the unit
  int days_without_infection = 0;    // on the local today
  std::int64_t orders = 0;           // control orders the area created
  std::string measure_zh;            // the level's measure under the area's profile
};

// A causing case as the area's page shows it: nothing personal.
struct CaseBrief {
  std::int64_t id = 0;
  std::string classification, found_by, infected;  // infected: YYYY-MM-DD
  bool counted = true;                              // counted under the area's profile
};

struct AreaDetail {
  AreaView area;
  std::vector<store::RiskVersionRow> versions;
  std::vector<CaseBrief> cases;
};

struct ProposeReport {
  std::string profile;
  bool designates = true;           // false: the active profile designates no risk areas
  std::int64_t proposed = 0, unchanged = 0, superseded = 0, refreshed = 0;
  std::vector<store::RiskProposalRow> proposals;  // the ones written now
};

// What an approval, designation or lift did in the closed loop.
struct Consequence {
  std::int64_t orders = 0, referrals = 0, already = 0, released = 0, kept = 0;
  std::vector<std::string> errors;  // "person 12: reason"
};

struct Decision {
  AreaView area;
  Consequence consequence;
  std::optional<store::RiskProposalRow> proposal;
};

struct PublicArea {
  std::int64_t id = 0;
  std::string level, unit_kind, unit_name, district, street, since;
};

class Service {
 public:
  Service(store::Repository& repo, loop::Service& loop, const Clock& clock, const Settings& settings);
  ~Service();
  store::RiskRepository& store() { return *r_; }

  ProposeReport propose(const Caller& c);
  std::vector<store::RiskProposalRow> proposals(const std::string& status, const Caller& c, int limit);
  // A reason is required; approval publishes (or changes, or lifts) the area.
  Decision approve(std::int64_t proposal_id, const std::string& reason, const Caller& c);
  store::RiskProposalRow reject(std::int64_t proposal_id, const std::string& reason, const Caller& c);
  // Manual designation by the centre: the same validation as a proposal.
  Decision designate(const std::string& unit_kind, const std::string& unit_ref, const std::string& level,
                     const std::string& reason, const Caller& c);
  Decision lift(std::int64_t area_id, const std::string& reason, const Caller& c);

  std::vector<AreaView> areas(const store::RiskAreaFilter& f, const Caller& c, int limit);
  AreaDetail area(std::int64_t id, const Caller& c);
  // Published areas above low, for everyone (no login); `district` filters by area-code prefix.
  std::vector<PublicArea> public_areas(const std::string& district);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason,
             const std::string& detail);
  bool in_scope(const Caller& c, const std::string& area_code) const;
  const policy::Profile& active();
  AreaView view(const store::RiskAreaRow& a, Date today);
  // Display name and grid of a unit; nullopt when the registry has no such unit.
  std::optional<std::pair<std::string, std::string>> place_of(const Unit& u);
  void release_orders(const store::RiskAreaRow& a, const std::string& note, const Caller& c, Consequence& out);
  void control_residents(const store::RiskAreaRow& a, const policy::Profile& p, const Caller& c, Consequence& out);
  std::int64_t add_version(const store::RiskAreaRow& a, const std::string& note, std::int64_t proposal_id,
                           const Caller& c);

  store::Repository& repo_;
  loop::Service& loop_;
  std::unique_ptr<store::RiskRepository> r_;
  const Clock& clock_;
  Settings settings_;
};

}  // namespace bihuan::risk
