#pragma once
// Storage of work resumption (复工复产, migration v18): enterprises (organisations of kind
// enterprise with industry, white-list flag and plan state), their sites, their staff rosters
// (persons of the registry with site, post and shift) and the versions of their prevention
// plans (each submission and each decision one row); and the compliance of their staff's
// routine tests (the key-group test_tasks of src/nat) by post. Shares the connection and
// transactions of a Repository. Rows are returned unscoped except where a Scope is taken:
// src/enterprise checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct EnterpriseRow {
  std::int64_t org_id = 0;
  std::string industry;
  bool white_list = false;
  std::string status = "registered";  // registered | submitted | approved | returned
  bool reopened = false;              // the latest decision reopened it (double veto passed)
  int plan_version = 0;               // the latest plan version (0 = none filed)
  std::int64_t registered_by = 0;
  Instant registered_at{}, updated_at{};
  // joined, read-only
  Org org;
  std::int64_t staff = 0;
};

struct SiteRow {
  std::string name, address, area_code;
};

struct StaffRow {
  std::int64_t person_id = 0;
  std::string site, post, shift;
  // joined, read-only (unmasked: the API masks)
  std::string name, doc_number, phone, area_code;
};

struct PlanVersionRow {
  std::int64_t id = 0, org_id = 0;
  int version = 0;
  std::string status;  // submitted | approved | returned
  std::string plan;    // JSON text of the plan (core/enterprise Plan)
  std::string responsible_head;
  bool epidemic_ok = false, safety_ok = false, reopen = false;
  std::string reasons;
  std::int64_t by_user = 0;
  std::string by_name;
  Instant acted_at{};
};

// Routine tests of an enterprise's staff with one post over a span of days.
struct ComplianceRow {
  std::string post;
  std::int64_t staff = 0;
  std::int64_t due = 0;     // routine tasks of the span (not cancelled)
  std::int64_t done = 0;    // sampled or resulted
  std::int64_t missed = 0;  // missed and not made good
  std::int64_t open = 0;    // still open (due later today)
};

// Adds r's counts (staff, due, done, missed, open) to `to`.
inline void add_counts(ComplianceRow& to, const ComplianceRow& r) {
  to.staff += r.staff;
  to.due += r.due;
  to.done += r.done;
  to.missed += r.missed;
  to.open += r.open;
}

// One post of one enterprise in the compliance table of every enterprise in a scope.
struct EnterpriseComplianceRow {
  std::int64_t org_id = 0;
  ComplianceRow counts;
};

// An enterprise as the compliance table names it.
struct EnterpriseBrief {
  std::int64_t org_id = 0;
  std::string code, name, area_code, industry, status;
  bool white_list = false, reopened = false;
};

// A staff member's routine-test status on a day (a missed task not made good, else the latest).
struct StaffTestRow {
  std::int64_t person_id = 0;
  std::string task_day, status;  // "" when the person has no routine task
};

// A routine test task of an enterprise's staff member that was missed.
struct MissedTaskRow {
  std::int64_t task_id = 0, person_id = 0, org_id = 0;
  std::string task_day, post, site, org_area, org_name;
  Instant due_at{};
};

class EnterpriseRepository {
 public:
  virtual ~EnterpriseRepository() = default;

  virtual std::optional<EnterpriseRow> enterprise(std::int64_t org_id) = 0;
  // Enterprises inside the scope (area: the organisation's area; org: itself), newest first by org id.
  virtual PageOf<EnterpriseRow> enterprises(const Scope& scope, Page page) = 0;
  virtual void insert_enterprise(const EnterpriseRow& e) = 0;  // conflict when registered already
  virtual void update_enterprise(const EnterpriseRow& e) = 0;

  virtual void replace_sites(std::int64_t org_id, const std::vector<SiteRow>& sites) = 0;
  virtual std::vector<SiteRow> sites(std::int64_t org_id) = 0;

  // Replaces the roster; the persons' workplace becomes the enterprise (so that its key-group
  // routine tests reach them); persons leaving the roster lose that workplace.
  virtual void replace_staff(std::int64_t org_id, const std::vector<StaffRow>& staff) = 0;
  virtual std::vector<StaffRow> staff(std::int64_t org_id) = 0;  // by person id

  virtual std::int64_t add_plan_version(PlanVersionRow& v) = 0;  // fills id
  virtual std::vector<PlanVersionRow> plan_versions(std::int64_t org_id) = 0;  // oldest first

  // Compliance by post over task days [from, to] (YYYY-MM-DD).
  virtual std::vector<ComplianceRow> compliance(std::int64_t org_id, const std::string& from, const std::string& to) = 0;
  // The same counts for every enterprise inside the scope (area: the organisation's area; org:
  // itself), by enterprise and post, in one pass over the rosters and one over the span's routine
  // tasks; ordered by org id, then post. Enterprises without staff have no row.
  virtual std::vector<EnterpriseComplianceRow> compliance_table(const Scope& scope, const std::string& from,
                                                                const std::string& to) = 0;
  // The enterprises inside the scope, by org id.
  virtual std::vector<EnterpriseBrief> briefs(const Scope& scope) = 0;
  // Each staff member's routine-test status up to `day`: the latest missed task not yet made
  // good, else the latest task.
  virtual std::vector<StaffTestRow> staff_tests(std::int64_t org_id, const std::string& day) = 0;
  // Missed routine tasks of staff (status still missed), of one enterprise (org_id) or of every
  // one (0), whose due time is before `due_before`, oldest first.
  virtual std::vector<MissedTaskRow> missed_tasks(std::int64_t org_id, Instant due_before, int limit) = 0;
  // Whether the missed task went on to the street (a testing alert of kind enterprise_missed).
  virtual bool escalated(std::int64_t task_id) = 0;
};

std::unique_ptr<EnterpriseRepository> open_enterprise_repository(Repository& repo);

}  // namespace bihuan::store
