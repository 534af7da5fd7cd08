#pragma once
// Work resumption (复工复产, docs/API-enterprise.md): enterprises of the registry (organisations of
// kind enterprise) with their sites, industry, white-list flag (白名单) and staff roster (persons
// of the registry by ID number, with site, post and shift); prevention plans (防疫方案, "一企一案")
// filed from the template, approved or returned by the street or district with the double veto
// (双否决) as fields, each submission and decision a version, audited; the compliance of the
// staff's routine tests (the key-group tasks of src/nat) by post; and the enterprise account's
// view of its own staff: masked identity, test status, health-code colour and whether (and until
// when) they cannot come in, nothing else.
//
// Every operation checks the caller inside its transaction (docs/SECURITY.md): an enterprise
// outside the caller's area, or another enterprise for an enterprise account, answers exactly
// like one that does not exist. Registering and importing need org.write and the enterprise's
// area inside the caller's; an enterprise account files its own plan (org.read), an area caller
// with org.write may file it for it; deciding needs loop.manage; the staff view person.read.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/enterprise.hpp"
#include "core/policy.hpp"
#include "store/enterprise_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Service;
}  // namespace bihuan::loop
namespace bihuan::nat {
class Service;
}  // namespace bihuan::nat

namespace bihuan::enterprise {

struct StaffInput {
  std::string doc_number, site, post, shift;
};

struct Registration {
  std::string code, name, area_code, address, phone, industry;
  bool white_list = false;
  std::vector<store::SiteRow> sites;
  std::vector<StaffInput> staff;
};

struct Detail {
  store::EnterpriseRow enterprise;
  std::vector<store::SiteRow> sites;
  std::vector<store::PlanVersionRow> versions;  // oldest first
};

// One row error of a CSV import: the line, the column and why.
struct RowError {
  std::int64_t row = 0;
  std::string field, reason;
};
struct ImportReport {
  std::int64_t enterprises = 0, staff = 0;  // written (0 when there were errors)
  std::vector<RowError> errors;             // non-empty: nothing was written
};

struct StaffEntry {
  store::StaffRow row;  // unmasked: the API masks it
  policy::Colour colour = policy::Colour::green;
  std::string test_day, test_status;  // a missed routine task not made good, else the latest ("" = none)
  bool can_come = true;               // green code and no active control order
  std::optional<Date> until;          // when not: the latest planned release of the active orders
};

struct Compliance {
  std::string from, to;  // YYYY-MM-DD
  std::vector<store::ComplianceRow> posts;
  store::ComplianceRow total;  // post = ""
};

// The compliance table of every enterprise in the caller's area (the centre's board).
struct ComplianceTable {
  std::string from, to;  // YYYY-MM-DD
  struct Item {
    store::EnterpriseBrief enterprise;
    std::int64_t staff = 0;
    store::ComplianceRow total;               // post = ""
    std::vector<store::ComplianceRow> posts;  // by post
  };
  std::vector<Item> items;  // every enterprise in scope, by org id
};

// The plan as JSON (the template's field names) and back; from_json names the field it rejects.
std::string plan_to_json(const Plan& p);
Plan plan_from_json(const std::string& text);

class Service {
 public:
  Service(store::Repository& repo, loop::Service& loop, nat::Service& nat, const Clock& clock, LocalTime local);
  ~Service();

  Detail register_enterprise(const Registration& r, const Caller& c);
  // CSV with a header: code,name,area_code,address,industry,white_list,site,site_address,
  // site_area_code,doc_number,post,shift — one row per staff member; rows of one code describe
  // one enterprise. All or nothing.
  ImportReport import_csv(const std::string& csv, const Caller& c);
  store::PageOf<store::EnterpriseRow> list(const Caller& c, store::Page page);
  Detail detail(std::int64_t org_id, const Caller& c);

  // Files a new version of the plan (status submitted); conflict while one awaits a decision.
  Detail submit_plan(std::int64_t org_id, const Plan& p, const Caller& c);
  // Approves or returns the submitted plan (a new version). A reopening approval makes the
  // enterprise a key group of the active profile at its most frequently tested post's group.
  Detail decide_plan(std::int64_t org_id, const Decision& d, const Caller& c);

  Compliance compliance(std::int64_t org_id, int days, const Caller& c);
  // Every enterprise's compliance over the last `days` days, inside the caller's scope.
  ComplianceTable compliance_table(int days, const Caller& c);
  // The enterprise's alerts: its staff's missed routine tests (newest last), each with whether
  // it went on to the street.
  struct MissedAlert {
    store::MissedTaskRow task;
    bool escalated = false;
  };
  std::vector<MissedAlert> missed(std::int64_t org_id, const Caller& c);
  // The watcher's pass: a staff member's routine test still missed `after` past its due time
  // goes on to the street as a testing alert (kind enterprise_missed, in the enterprise's area,
  // seen by the street and district in the testing alerts). Returns the alerts raised.
  std::vector<store::TestAlertRow> sweep(Instant now, std::chrono::hours after = std::chrono::hours(24));
  std::vector<StaffEntry> staff(std::int64_t org_id, const Caller& c);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason = {},
             const std::string& detail = {});
  store::EnterpriseRow visible(std::int64_t org_id, const Caller& c);
  Detail detail_of(std::int64_t org_id);
  // Checks a registration (Error naming the field) and resolves its staff to persons.
  std::vector<store::StaffRow> resolve(const Registration& r, const Caller& c);
  void store_registration(const Registration& r, const std::vector<store::StaffRow>& staff, const Caller& c);
  const policy::Profile& profile();

  store::Repository& repo_;
  loop::Service& loop_;
  nat::Service& nat_;
  const Clock& clock_;
  LocalTime local_;
  std::unique_ptr<store::EnterpriseRepository> e_;
};

}  // namespace bihuan::enterprise
