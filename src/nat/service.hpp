#pragma once
// The nucleic-acid testing service (核酸检测, docs/API-testing.md): sampling points, mass-testing
// rounds with coverage of every household, pooled tubes sampled by scanning health codes, boxes
// with chain of custody, lab results (idempotent; corrections versioned; conflicts reviewed),
// pool re-tests, cases opened by positive single tubes and the testing alerts.
//
// Every operation takes the caller and checks it inside the transaction (docs/SECURITY.md):
// - a sampler or grid worker works at sampling points inside its area; it may sample anyone
//   registered in the deployment (people are sampled where they are) and learns only the
//   masked name;
// - a lab (organisation scope) receives the boxes addressed to it and reports results for tubes
//   it received (or not yet boxed) and, by ID number, for people registered in the city of its
//   organisation; anything else answers exactly like an unknown tube or person;
// - a command centre sees and manages points, rounds, tubes, tasks, cases and alerts inside its
//   area.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/model.hpp"
#include "core/nat.hpp"
#include "core/policy.hpp"
#include "nat/point_plan.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"
#include "store/nat_repository.hpp"

namespace bihuan::loop {
class Service;
class CodeSigner;
}  // namespace bihuan::loop

namespace bihuan::nat {

// Deployment settings (settings table keys in brackets). The rules themselves come from the
// active profile's `testing:` section (core/lab_rules.hpp); a setting, when present, overrides
// the profile's value for this deployment.
struct Settings {
  std::chrono::minutes box_due{4 * 60};           // [testing.box_due_minutes] sealed -> received
  std::optional<std::chrono::minutes> retest_due;  // [testing.retest_minutes] positive pool -> re-test
  std::optional<std::string> pool_flag_colour;     // [testing.pool_flag_colour] yellow | red
  std::optional<bool> door_to_door;                // [testing.retest_door_to_door] 1 | 0
  // [testing.turnaround_hours_key|_routine|_voluntary]
  std::optional<std::chrono::hours> turnaround_key, turnaround_routine, turnaround_voluntary;
  // [testing.point_grace_minutes] a point samples until its closing time plus this grace (the
  // queue at closing time); outside its hours sampling is refused.
  std::chrono::minutes point_grace{30};
  LocalTime local;
};
Settings read_settings(store::Repository& repo);

struct NewPoint {
  std::string name, area_code, address;
  std::string opens = "08:00", closes = "20:00";
  int capacity_per_hour = 300;
  std::int64_t lab_org_id = 0;
};

// A change of a sampling point (the command centre): only the fields given.
struct PointChange {
  std::optional<std::string> name, address, opens, closes;
  std::optional<int> capacity_per_hour;
  std::optional<std::int64_t> lab_org_id;
  std::optional<bool> active;
};

// The plan of a round (采样点分配): the residents still expected in each grid of the round's area
// (inside the caller's scope) assigned to the active points of the area within their daily
// capacity (capacity per hour x opening hours), with the load of each point and the overflow.
struct RoundPlanView {
  store::RoundRow round;
  std::vector<store::SamplingPointRow> points;  // in the plan's order
  RoundPlan plan;
};

struct NewRounds {
  std::string campaign;
  std::string area_code;
  std::vector<Date> days;
  std::string rule;  // the active profile's round rule key (required)
  bool outbreak_declared = false;  // an outbreak is declared for the area (twenty-measures' condition)
  int pool_ratio = 0;  // 0 = the profile's ratio for the general population
};

struct NewTube {
  std::string barcode;
  int ratio = 0;  // 0 = the round's ratio (or 1 without a round)
  std::int64_t round_id = 0;
  std::int64_t point_id = 0;
  std::string priority;  // "" = routine (key for a re-test)
};

// Who to sample: a health-code token (scanned) or a document number (typed).
struct SampleWho {
  std::string code_token;
  std::string doc_number;
  std::int64_t person_id = 0;  // trusted callers only (tools, the benchmark): no lookup by code
};

struct Sampled {
  std::int64_t person_id = 0;
  std::string masked_name;
  std::int64_t tube_id = 0;
  int members = 0;
  int ratio = 0;
  bool tube_closed = false;   // the tube became full
  std::int64_t task_id = 0;   // the re-test task it serves, 0 = none
};

// A sampling device's upload (离线采样同步): tubes filled at one point, each with its members
// in the order they were sampled. Each tube is taken whole or refused whole.
struct UploadTube {
  std::string barcode;
  int ratio = 0;  // 0 = the round's ratio (or 1 without a round)
  std::string priority;
  std::vector<SampleWho> members;
  bool close = true;  // the sampler closed the tube (a full tube closes anyway)
};
struct SampleUpload {
  std::int64_t point_id = 0;
  std::int64_t round_id = 0;
  std::optional<Instant> sampled_at;  // when the device sampled; default now (never in the future)
  std::vector<UploadTube> tubes;
};
struct UploadError {
  std::int64_t tube = 0;     // index in the upload
  std::int64_t member = -1;  // index in the tube's members, -1 = the tube itself
  std::string barcode, field, reason;
};
struct UploadReport {
  std::int64_t tubes = 0, samples = 0;  // taken
  std::int64_t duplicates = 0;          // tubes already uploaded with the same members (idempotent)
  std::int64_t rejected = 0;            // tubes refused (see errors)
  std::vector<UploadError> errors;      // the first 1,000
};

// A result as a lab reports it (one CSV row, one FHIR Observation, one API item).
struct ResultInput {
  std::int64_t row = 0;     // CSV line (header = 1); 0 when not a CSV
  std::int64_t index = -1;  // FHIR entry or API item index; -1 for CSV
  std::string barcode, doc_number;
  std::string reported;     // negative | positive | inconclusive
  std::optional<double> orf1ab_ct, n_ct;
  std::optional<Instant> sampled_at, tested_at;
  std::string external_id;
};
struct ResultError {
  std::int64_t row = 0;
  std::int64_t index = -1;
  std::string column, value, reason;
};
struct IntakeReport {
  std::int64_t accepted = 0, rejected = 0;
  std::int64_t duplicates = 0;       // accepted, already recorded (idempotent)
  std::int64_t conflicts = 0;        // rejected: differs from the recorded result, queued for review
  std::int64_t positive_pools = 0, cases_opened = 0, retest_tasks = 0;
  std::vector<ResultError> errors;
};

struct TubeDetail {
  store::TubeRow tube;
  std::vector<store::MemberRow> members;
  std::vector<std::string> masked_names;  // per member
  std::vector<store::ResultRow> results;  // every version
};

// When the next round of a campaign is due under its rule (core/lab_rules.hpp next_round): the
// closed rounds of the same campaign and area, clean when they found no positive.
struct NextRound {
  std::string rule;
  bool due = false;
  std::optional<Date> date;
  bool final_round = false;
  int clean_streak = 0;
  std::string reason;
};

// Turnaround of one lab and priority over the last days (检测时效).
struct TurnaroundRow {
  std::int64_t lab_org_id = 0;
  std::string lab_name, priority;
  int target_hours = 0;  // the profile's (or the setting's) target for the priority
  TurnaroundStats stats;
  std::map<int, std::int64_t> histogram;  // whole hours -> tubes
};

struct RoundCoverage {
  store::RoundRow round;
  CoverageRow total;
  std::vector<CoverageRow> rows;  // at the level asked for, inside the caller's scope
};

// Today's planned tests of control orders (今日核酸, by holder): every active order held inside the
// caller's scope whose plan has a test on the day. status: resulted (the day has a result), sampled
// (sampled that day, awaiting the lab), missed (the day's test_missing alert is open) or due.
struct PlannedTest {
  store::OrderTestRow row;
  std::string status;
  bool alerts = true;  // false at the hospital stage: the hospital tests its patients, no alert
};
struct HolderTally {
  std::string owner_kind;
  std::int64_t owner_org = 0;
  std::string owner_area, owner_name;
  std::int64_t planned = 0, resulted = 0, sampled = 0, due = 0, missed = 0;
};
struct PlannedTestQuery {
  std::optional<Date> day;  // default: today (local)
  std::string holder_kind;  // "" | org | area
  std::int64_t holder_org = 0;
  std::string holder_area;
  std::string status;       // "" | resulted | sampled | due | missed
  bool tally = true;        // count by holder over the whole day (first page)
};
struct PlannedTests {
  Date day{};
  std::vector<PlannedTest> items;
  std::int64_t next = 0;  // keyset: the last order id read, 0 = no more
  std::vector<HolderTally> holders;
};

// A lab file (CSV or FHIR JSON, core of `bihuan results import` and POST /api/nat/results/file)
// parsed into result items, with the parse errors in the intake's shape.
struct ParsedFile {
  std::vector<ResultInput> items;
  std::vector<ResultError> errors;
  std::string channel;  // csv | fhir
};
ParsedFile parse_result_file(std::string_view bytes, const LocalTime& local);
// The report as `bihuan results import --json` and the results job print it: exactly
// {"accepted","rejected","errors":[{"row" (CSV) or "index" (FHIR),"column","value","reason"}]}.
std::string report_json(const IntakeReport& rep, bool with_counts);

class Service {
 public:
  // loop: the closed-loop service (a result closes that day's test of the person's orders);
  // signer: verifies scanned health codes.
  Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock);
  Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock,
          const Settings& settings);
  ~Service();
  store::NatRepository& store() { return *t_; }
  const Settings& settings() const { return settings_; }

  // --- sampling points
  store::SamplingPointRow create_point(const NewPoint& p, const Caller& c);
  std::vector<store::SamplingPointRow> points(const Caller& c);
  // Hours, capacity, lab, name, address or active (a closed point takes no tubes nor samples).
  store::SamplingPointRow change_point(std::int64_t id, const PointChange& ch, const Caller& c);

  // --- rounds (区域核酸检测)
  std::vector<store::RoundRow> start_rounds(const NewRounds& r, const Caller& c);
  store::RoundRow round(std::int64_t id, const Caller& c);
  NextRound next_round(std::int64_t id, const Caller& c);
  std::vector<store::RoundRow> rounds(const Caller& c);
  RoundPlanView round_plan(std::int64_t id, const Caller& c);
  store::RoundRow close_round(std::int64_t id, const Caller& c);
  // Coverage at `length` digits (9 street, 12 community, 15 grid; 0 = one level below the round's
  // area), inside the caller's scope.
  RoundCoverage coverage(std::int64_t round_id, std::size_t length, const Caller& c);
  // The door-to-door list: residents of `area` (inside the round and the caller's scope) not yet
  // sampled nor excluded. Unmasked numbers only for callers with person_unmask (the caller masks).
  store::PageOf<store::MissingPerson> missing(std::int64_t round_id, const std::string& area, store::Page page,
                                              const Caller& c);
  // A resident away, bedridden, moved, ... leaves the round's denominator (with a reason).
  void exclude(std::int64_t round_id, std::int64_t person_id, const std::string& reason, const std::string& note,
               const Caller& c);

  // --- tubes and sampling
  store::TubeRow open_tube(const NewTube& t, const Caller& c);
  Sampled sample(std::int64_t tube_id, const SampleWho& who, const Caller& c);
  // A sampling device's upload: the tubes it filled at one point (same rules as sample(); each
  // tube whole or not at all, reported by tube and member index; one transaction per call).
  UploadReport upload_samples(const SampleUpload& u, const Caller& c);
  store::TubeRow close_tube(std::int64_t tube_id, const Caller& c);
  TubeDetail tube(std::int64_t id, const Caller& c);
  store::TubeRow tube_by_barcode(const std::string& barcode, const Caller& c);
  store::PageOf<store::TubeRow> tubes(const store::TubeFilter& f, const Caller& c, store::Page page);

  // --- boxes (chain of custody)
  store::BoxRow open_box(const std::string& code, std::int64_t point_id, std::int64_t lab_org_id, const Caller& c);
  store::BoxRow add_to_box(std::int64_t box_id, const std::vector<std::string>& barcodes, const Caller& c);
  store::BoxRow seal_box(std::int64_t box_id, const Caller& c);
  store::BoxRow pick_up_box(std::int64_t box_id, const std::string& carrier, const Caller& c);
  store::BoxRow receive_box(std::int64_t box_id, const Caller& c);  // the lab it is addressed to
  store::BoxRow box(std::int64_t id, const Caller& c);
  store::PageOf<store::BoxRow> boxes(const std::string& status, const Caller& c, store::Page page);

  // --- results (a lab; the administrator may act for a lab with `lab_org_id`)
  // Valid items are taken, invalid ones reported; never all-or-nothing. Each accepted item is
  // committed in batches; an item's effects (tube, members, tasks, loop, case) are atomic.
  IntakeReport post_results(const std::vector<ResultInput>& items, std::int64_t lab_org_id, const std::string& channel,
                            const Caller& c,
                            const std::function<void(std::size_t done, std::size_t total)>& progress = {});
  // A correction: a new version with a reason (audited); its consequences are applied again.
  store::ResultRow correct_result(std::int64_t result_id, const std::string& reported, std::optional<double> orf1ab_ct,
                                  std::optional<double> n_ct, const std::string& reason, const Caller& c);
  std::vector<store::ConflictRow> conflicts(const std::string& status, const Caller& c);
  // accept: the conflicting report becomes the current version; reject: the recorded one stays.
  store::ConflictRow decide_conflict(std::int64_t id, bool accept, const std::string& note, const Caller& c);

  // --- tasks, antigen self-tests, alerts, cases
  store::PageOf<store::TaskRow> tasks(const store::TaskFilter& f, const Caller& c, store::Page page);
  // An antigen self-test (抗原自测) recorded by a grid worker; a positive opens a single-tube PCR task.
  // Key groups (重点人群): designate an organisation in the caller's area (a key of the active
  // profile's routine_testing; "" removes it and cancels its open tasks). Today's tasks are made
  // at once when today is one of its days. `posts` (an enterprise's plan: post -> group) makes
  // each post of the enterprise's roster follow its own group's frequency instead; empty: the
  // whole staff follows `group_key`.
  std::optional<store::KeyGroupRow> set_key_group(std::int64_t org_id, const std::string& group_key,
                                                  std::optional<Date> since, const Caller& c,
                                                  const std::map<std::string, std::string>& posts = {});
  std::vector<store::KeyGroupRow> key_groups(const Caller& c);
  // Sample-to-result time of the tubes resulted over the last `days` days (1..90), by lab and
  // priority, against the targets: tubes of the caller's area, or a lab's own.
  std::vector<TurnaroundRow> turnaround(int days, const Caller& c);
  // The day's planned tests of the control orders the caller's holders hold (loop.read; org scope:
  // its own orders; area scope: orders held by areas or organisations inside it), page by order id.
  PlannedTests planned_tests(const PlannedTestQuery& q, const Caller& c, store::Page page);
  store::AntigenRow record_antigen(std::int64_t person_id, const std::string& result, std::optional<Instant> taken_at,
                                   const Caller& c);
  // after_id > 0: only alerts with a larger id.
  store::PageOf<store::TestAlertRow> alerts(const std::string& status, const Caller& c, store::Page page,
                                            std::int64_t after_id = 0);
  store::TestAlertRow settle_alert(std::int64_t id, const Caller& c);
  store::PageOf<store::CaseRow> cases(const Caller& c, store::Page page);

  // --- the watcher's sweep: boxes not received in time, re-tests past their deadline, tubes past
  // their turnaround target. Returns the alerts raised.
  std::vector<store::TestAlertRow> sweep();

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});
  bool area_visible(const Caller& c, const std::string& area_code) const;
  store::SamplingPointRow visible_point(std::int64_t id, const Caller& c);
  // Refuses sampling at a point outside its hours (plus the grace) at `at`.
  void require_open(const store::SamplingPointRow& p, Instant at);
  store::TubeRow visible_tube(std::int64_t id, const Caller& c);
  store::BoxRow visible_box(std::int64_t id, const Caller& c);
  store::BoxRow sampler_box(std::int64_t id, const Caller& c);
  store::RoundRow visible_round(std::int64_t id, const Caller& c);
  std::string lab_city(std::int64_t lab_org_id);
  Person person_for(const SampleWho& who, const Caller& c);
  std::optional<store::TaskRow> single_tube_task(std::int64_t person_id);
  Sampled sample_person(store::TubeRow& tube, const Person& p, const Caller& c);
  // One result item, inside the caller's transaction. Returns the error (if any).
  std::optional<ResultError> take_result(const ResultInput& in, std::int64_t lab_org_id, const std::string& channel,
                                         const std::string& lab_city, const Caller& c, IntakeReport& rep);
  void apply_result(const store::ResultRow& r, store::TubeRow* tube, const Caller& c, IntakeReport& rep);
  std::chrono::hours turnaround_of(const std::string& priority);
  // Makes the routine tasks of `day` for one key group (or all when org_id is 0).
  std::int64_t make_routine_tasks(Date day, std::int64_t org_id);
  bool routine_open_ = true;         // whether results must look for routine tasks to close
  std::string routine_made_for_;     // the local day the sweep made routine tasks for
  const policy::Profile& profile();
  // The group that decides a person's Ct rule: the group of an active control order ("" = none).
  std::string group_of(std::int64_t person_id);
  std::chrono::minutes retest_due();
  std::string flag_colour();
  bool door_to_door();

  store::Repository& repo_;
  loop::Service& loop_;
  loop::CodeSigner* signer_;
  std::unique_ptr<store::NatRepository> t_;
  const Clock& clock_;
  Settings settings_;
};

}  // namespace bihuan::nat
