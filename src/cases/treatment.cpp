#include "cases/treatment.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/lab_rules.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"

namespace bihuan::cases {

using nlohmann::json;

namespace {

[[noreturn]] void no_treatment(std::int64_t id) {
  fail(ErrorCode::not_found, "no such treatment: " + std::to_string(id), "id");
}

std::string rule_words(const policy::CtRelease& r) {
  char ct[32];
  std::snprintf(ct, sizeof ct, "%g", r.min_ct);
  return std::to_string(r.tests) + " tests >= " + std::to_string(r.hours_apart) + " h apart, N and ORF1ab Ct >= " + ct;
}

lab::CtTest ct_test(const store::CtResult& r) {
  lab::CtTest t;
  t.sampled_at = r.sampled_at;
  t.outcome = lab::outcome_from(r.outcome).value_or(lab::Outcome::inconclusive);
  t.orf1ab_ct = r.orf1ab_ct;
  t.n_ct = r.n_ct;
  return t;
}

}  // namespace

Treatment::Treatment(store::Repository& repo, loop::Service& loop, const Clock& clock)
    : repo_(repo),
      loop_(loop),
      clock_(clock),
      cases_(store::open_case_repository(repo)),
      t_(store::open_treatment_repository(repo)) {}

Treatment::~Treatment() = default;

void Treatment::audit(const Caller& c, const std::string& action, std::int64_t case_id, const std::string& reason,
                      const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, "case", case_id, reason, detail));
}

store::TreatmentRow Treatment::visible(std::int64_t id, const Caller& c) {
  auto row = t_->treatment(id);
  if (!row) no_treatment(id);
  const bool ok = c.everything() ||
                  (c.scope.kind == Scope::Kind::org && c.can(Permission::loop_read) && row->org_id == c.scope.org_id) ||
                  (c.scope.kind == Scope::Kind::area && c.can(Permission::case_investigate) &&
                   area_in_scope(c.scope, row->area_code));
  if (!ok) no_treatment(id);
  return std::move(*row);
}

TreatmentView Treatment::describe(store::TreatmentRow row) {
  TreatmentView v;
  if (row.order_id) {
    if (auto o = loop_.loop().order(row.order_id, Scope::everything())) {
      v.stage = o->order.status == loop::OrderStatus::active ? loop::to_string(o->order.current.stage) : "released";
      v.received = o->order.current.stage == loop::Stage::hospital &&
                   o->order.current.owner == loop::Owner::org(row.org_id);
    }
  }
  // The results that count: sampled since the infection was found (the case's first positive
  // sampling, else its opening; at the latest the admission) and, once discharged, until then.
  Instant since = row.admitted_at;
  if (auto k = cases_->case_record(row.case_id)) since = std::min(since, k->first_positive_at.value_or(k->opened_at));
  const auto until = row.discharged_at;
  for (auto& r : t_->ct_results(row.person_id, since))
    if (!until || r.sampled_at <= *until) v.tests.push_back(std::move(r));
  const auto& prof = loop_.profiles().get(loop_.active_profile());
  const auto& rules = prof.testing.ct_release;
  if (auto it = rules.find("discharge"); it != rules.end()) {
    std::vector<lab::CtTest> tests;
    for (const auto& r : v.tests) tests.push_back(ct_test(r));
    v.check = treatment::discharge_check(it->second, tests);
    v.rule = rule_words(it->second);
  } else {
    v.check.reason = "profile " + prof.name + " has no discharge rule (testing.ct_release.discharge)";
  }
  v.repositives = t_->repositives(row.id);
  v.row = std::move(row);
  return v;
}

namespace {

Org hospital_in_reach(store::Repository& repo, std::int64_t org_id, const Caller& c) {
  auto org = repo.org(org_id);
  const bool reach = org && org->kind == OrgKind::hospital &&
                     (c.everything() || (c.scope.kind == Scope::Kind::org ? c.scope.org_id == org->id
                                                                          : area_in_scope(c.scope, org->area_code)));
  if (!reach) fail(ErrorCode::not_found, "no such hospital: " + std::to_string(org_id), "id");
  return *org;
}

}  // namespace

store::FacilityRow Treatment::set_facility(std::int64_t org_id, const std::string& facility, std::int64_t beds,
                                           const Caller& c) {
  if (!c.can(Permission::loop_manage))
    fail(ErrorCode::permission_denied, "designating hospitals needs loop.manage (command centre)", "role");
  const auto f = treatment::facility_from(facility);
  if (!f) fail(ErrorCode::invalid_argument, "facility must be designated_hospital or shelter_hospital", "facility");
  if (beds < 0 || beds > 1000000) fail(ErrorCode::invalid_argument, "beds must be 0..1000000", "beds");
  return store::in_transaction(repo_, [&] {
    const Org org = hospital_in_reach(repo_, org_id, c);
    store::FacilityRow row;
    row.org_id = org.id;
    row.facility = treatment::to_string(*f);
    row.beds = beds;
    row.set_at = clock_.now();
    row.set_by = c.user_id;
    t_->set_facility(row);
    repo_.append_audit(store::audit_of(c, row.set_at, "hospital.facility", "org", org.id, {},
                                       json{{"facility", row.facility}, {"beds", beds}}.dump()));
    return row;
  });
}

store::FacilityRow Treatment::facility(std::int64_t org_id, const Caller& c) {
  if (!c.can(Permission::loop_read)) fail(ErrorCode::permission_denied, "hospitals need loop.read", "role");
  return store::in_transaction(repo_, [&] {
    const Org org = hospital_in_reach(repo_, org_id, c);
    auto row = t_->facility_of(org.id).value_or(store::FacilityRow{});
    row.org_id = org.id;
    return row;
  });
}

TreatmentView Treatment::admit(std::int64_t case_id, const Admission& a, const Caller& c) {
  if (!c.can(Permission::loop_write) || !c.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "admitting a case to treatment needs loop.write and case.investigate (command centre)",
         "role");
  // No facility: the organisation's own (below). A facility given must be the organisation's.
  const auto facility = treatment::facility_from(a.facility);
  if (!a.facility.empty() && !facility)
    fail(ErrorCode::invalid_argument, "facility must be designated_hospital or shelter_hospital", "facility");
  if (a.note.size() > 500) fail(ErrorCode::invalid_argument, "note is longer than 500 bytes", "note");
  return store::in_transaction(repo_, [&] {
    auto k = cases_->case_record(case_id);
    if (!k || !(c.everything() || area_in_scope(c.scope, k->area_code)))
      fail(ErrorCode::not_found, "no such case: " + std::to_string(case_id), "id");
    if (k->status != "open") fail(ErrorCode::conflict, "case " + std::to_string(case_id) + " is closed", "id");
    if (!treatment::treatable(k->classification))
      fail(ErrorCode::invalid_argument,
           "only a confirmed, clinically diagnosed or asymptomatic case is treated; case " + std::to_string(case_id) +
               " is " + (k->classification.empty() ? std::string("not classified yet") : k->classification),
           "classification");
    if (auto open = t_->admitted_of_case(case_id))
      fail(ErrorCode::conflict, "case " + std::to_string(case_id) + " is in treatment already (treatment " +
                                    std::to_string(open->id) + ")", "id");
    auto org = repo_.org(a.org_id);
    if (!org || org->kind != OrgKind::hospital)
      fail(ErrorCode::invalid_argument, "organisation " + std::to_string(a.org_id) + " is not a hospital", "org_id");
    const auto own = t_->facility_of(org->id);
    const auto org_facility = treatment::facility_from(own ? own->facility : "").value_or(treatment::Facility::designated_hospital);
    if (facility && *facility != org_facility)
      fail(ErrorCode::invalid_argument,
           "organisation " + std::to_string(org->id) + " is a " +
               (org_facility == treatment::Facility::shelter_hospital ? "shelter hospital (方舱医院)"
                                                                       : "designated hospital (定点医院)") +
               ", not a " +
               (*facility == treatment::Facility::shelter_hospital ? "shelter hospital" : "designated hospital"),
           "facility");
    const Instant now = clock_.now();
    const auto hospital = loop::Owner::org(org->id);
    store::TreatmentRow row;
    row.case_id = k->id;
    row.person_id = k->person_id;
    row.area_code = k->area_code;
    row.org_id = org->id;
    row.facility = treatment::to_string(org_facility);
    row.admitted_at = now;
    row.admitted_by = c.user_id;
    row.note = a.note;
    auto orders = loop_.loop().active_orders_of_person(k->person_id);
    if (orders.empty()) {
      // Not under control yet: the case is isolated at home by its area, which hands it over.
      const auto& prof = loop_.profiles().get(loop_.active_profile());
      auto g = prof.groups.find(treatment::kTreatmentGroup);
      if (g == prof.groups.end() || !g->second.traced)
        fail(ErrorCode::invalid_argument,
             "profile " + prof.name + " puts no case under control for treatment (group " + treatment::kTreatmentGroup + ")",
             "profile");
      auto person = repo_.person(k->person_id, Scope::everything());
      loop::NewOrder n;
      n.person_id = k->person_id;
      n.group = treatment::kTreatmentGroup;
      n.source = loop::OrderSource::close_contact;  // found by the investigation of cases
      n.start = loop_.settings().local.date_of(now);
      n.stage = loop::Stage::home_isolation;
      n.owner = loop::Owner::area(person ? person->area_code : k->area_code);
      n.note = "case " + std::to_string(k->id) + ": treatment";
      orders.push_back(loop_.create_order(n, c));
    }
    const auto& o = orders.front();
    row.order_id = o.order.id;
    if (o.order.current.stage == loop::Stage::hospital && o.order.current.owner == hospital) {
      // In this hospital already (taken there from a port or a site).
    } else if (o.order.pending) {
      if (o.order.pending->to != loop::Stage::hospital || !(o.order.pending->receiver == hospital))
        fail(ErrorCode::conflict,
             "order " + std::to_string(o.order.id) + " has handover " + std::to_string(o.order.pending->id) +
                 " pending to " + loop::to_string(o.order.pending->to) + ": it is settled first",
             "order_id");
      row.handover_id = o.order.pending->id;
    } else {
      row.handover_id = loop_.send_handover(o.order.id, loop::Stage::hospital, hospital, a.vehicle, a.escort, c).id;
    }
    t_->insert_treatment(row);
    audit(c, "case.treatment.admit", k->id, a.note,
          json{{"treatment_id", row.id}, {"org_id", org->id}, {"facility", row.facility}, {"order_id", row.order_id},
               {"handover_id", row.handover_id}}
              .dump());
    row.org_name = org->name;
    return describe(std::move(row));
  });
}

TreatmentView Treatment::view(std::int64_t id, const Caller& c) {
  return store::in_transaction(repo_, [&] { return describe(visible(id, c)); });
}

std::vector<TreatmentView> Treatment::of_case(std::int64_t case_id, const Caller& c) {
  if (!c.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "cases need case.investigate (investigator, command centre)", "role");
  return store::in_transaction(repo_, [&] {
    auto k = cases_->case_record(case_id);
    if (!k || !(c.everything() || area_in_scope(c.scope, k->area_code)))
      fail(ErrorCode::not_found, "no such case: " + std::to_string(case_id), "id");
    std::vector<TreatmentView> out;
    store::TreatmentFilter f;
    f.case_id = case_id;
    for (auto& row : t_->treatments(f, Scope::everything(), {0, 100}).items) out.push_back(describe(std::move(row)));
    return out;
  });
}

store::PageOf<store::TreatmentRow> Treatment::list(const std::string& status, const Caller& c, store::Page page) {
  if (!status.empty() && status != "admitted" && status != "discharged" && status != "duplicate")
    fail(ErrorCode::invalid_argument, "status must be admitted, discharged or duplicate", "status");
  const bool ok = c.everything() || (c.scope.kind == Scope::Kind::org && c.can(Permission::loop_read)) ||
                  (c.scope.kind == Scope::Kind::area && c.can(Permission::case_investigate));
  if (!ok) fail(ErrorCode::permission_denied, "treatments are the hospital's and the case investigators'", "role");
  store::TreatmentFilter f;
  f.status = status;
  return store::in_transaction(repo_, [&] { return t_->treatments(f, c.scope, page); });
}

DischargeOutcome Treatment::discharge(std::int64_t id, const std::string& note, const Caller& c) {
  if (!c.can(Permission::loop_write)) fail(ErrorCode::permission_denied, "discharge needs loop.write", "role");
  if (note.size() > 500) fail(ErrorCode::invalid_argument, "note is longer than 500 bytes", "note");
  return store::in_transaction(repo_, [&] {
    auto row = visible(id, c);
    if (row.status != "admitted") fail(ErrorCode::conflict, "treatment " + std::to_string(id) + " ended already", "id");
    auto v = describe(row);
    if (!v.received)
      fail(ErrorCode::conflict,
           "the hospital has not received the patient yet" +
               (row.handover_id ? " (handover " + std::to_string(row.handover_id) + " is to be acknowledged)" : std::string()),
           "id");
    if (!v.check.met) fail(ErrorCode::conflict, "discharge refused: " + v.check.reason, "rule");
    const Instant now = clock_.now();
    auto k = cases_->case_record(row.case_id);
    if (!k) fail(ErrorCode::not_found, "no such case: " + std::to_string(row.case_id), "id");
    if (k->status == "open") {
      const auto rev = k->rev;
      k->status = "closed";
      k->closed_at = now;
      k->outcome = "recovered";
      if (!cases_->update_case(*k, rev)) fail(ErrorCode::conflict, "the case changed during the discharge", "rev");
      ++k->rev;
    }
    if (!loop_.end_order(row.order_id, "discharged (treatment " + std::to_string(id) + ")", c))
      fail(ErrorCode::conflict, "order " + std::to_string(row.order_id) + " could not be released here", "order_id");
    // Post-discharge home health monitoring by the person's area, under the profile's group.
    DischargeOutcome out;
    const auto& prof = loop_.profiles().get(loop_.active_profile());
    auto g = prof.groups.find(treatment::kDischargedGroup);
    if (g != prof.groups.end() && g->second.traced && !g->second.phases.empty()) {
      auto person = repo_.person(row.person_id, Scope::everything());
      loop::NewOrder n;
      n.person_id = row.person_id;
      n.group = treatment::kDischargedGroup;
      n.source = loop::OrderSource::close_contact;
      n.start = loop_.settings().local.date_of(now);
      n.stage = loop::Stage::home_monitoring;
      n.owner = loop::Owner::area(person ? person->area_code : row.area_code);
      n.note = "discharged: case " + std::to_string(row.case_id);
      // The discharge puts the person under the area's monitoring: a hospital does not act for
      // the area, so the order is made on the hospital user's behalf in the area's name (the
      // audit record names that user).
      Caller by = c;
      if (!acts_for(c, n.owner)) {
        by.role = Role::command_centre;
        by.scope = Scope::area(n.owner.area_code);
      }
      row.monitoring_order_id = loop_.create_order(n, by).order.id;
    }
    row.status = "discharged";
    row.discharged_at = now;
    row.discharged_by = c.user_id;
    if (!note.empty()) row.note = note;
    t_->update_treatment(row);
    audit(c, "case.treatment.discharge", row.case_id, note,
          json{{"treatment_id", id}, {"monitoring_order_id", row.monitoring_order_id}, {"tests", v.check.tests_counted}}.dump());
    out.monitoring_order_id = row.monitoring_order_id;
    out.closed_case = std::move(*k);
    out.view = describe(std::move(row));
    return out;
  });
}

}  // namespace bihuan::cases
