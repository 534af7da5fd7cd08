#pragma once
// Storage of nucleic-acid testing (核酸检测, docs/API-testing.md): sampling points, rounds and
// their exclusions, pooled tubes and their members, boxes (chain of custody), versioned lab
// results, result conflicts, test tasks, antigen self-tests, testing alerts and cases.
// Implemented once over the Db drivers (sql_nat_repository.cpp); opened over a Repository
// and sharing its connection and transactions.
//
// Scope: rows carry the area they belong to (a tube and a box: the sampling point's area; a
// task, an alert, a case and a conflict: the person's area) and, where a lab handles them, the
// lab's organisation; list queries filter by an area prefix or an organisation in SQL. Single
// rows are read unscoped and checked by the service (src/testing), which knows the rules.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/nat.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct SamplingPointRow {
  std::int64_t id = 0;
  std::string name;
  std::string area_code;
  std::string address;
  std::string opens = "08:00", closes = "20:00";
  int capacity_per_hour = 300;
  std::int64_t lab_org_id = 0;  // the lab its boxes go to (0 = chosen when the box is sealed)
  bool active = true;
  Instant created_at{};
};

struct RoundRow {
  std::int64_t id = 0;
  std::string campaign;   // rounds started together share it ("2022-04-04 浦东全员核酸")
  std::string area_code;  // the area whose residents are tested
  Date day{};             // the sampling day (local)
  std::string profile;
  std::string rule;       // the profile's round rule key ("" = none named)
  int pool_ratio = 10;
  std::string status = "open";  // open | closed
  std::int64_t created_by = 0;
  Instant created_at{};
  std::optional<Instant> closed_at;
};

struct ExclusionRow {
  std::int64_t round_id = 0, person_id = 0;
  std::string reason;  // away | bedridden | moved_in | moved_out | deceased | other
  std::string note;
  std::int64_t by_user = 0;
  Instant at{};
};

struct TubeRow {
  std::int64_t id = 0;
  std::string barcode;
  int ratio = 1;
  std::int64_t round_id = 0, point_id = 0;
  std::string area_code;
  std::string priority = "routine";  // key | routine | voluntary
  std::string status = "open";       // open | closed | boxed | received | resulted
  int members = 0;
  Instant opened_at{};
  std::int64_t opened_by = 0;
  std::optional<Instant> closed_at;
  std::int64_t box_id = 0, lab_org_id = 0;
  std::string result;  // "" | negative | positive | inconclusive
  std::optional<Instant> result_at;
  std::int64_t retest_task = 0;  // the re-test task a single tube was opened for (0 = none)
};

struct MemberRow {
  std::int64_t tube_id = 0, person_id = 0, round_id = 0, task_id = 0;
  Instant sampled_at{};
  std::int64_t sampled_by = 0;
  bool open = true;
};

struct BoxRow {
  std::int64_t id = 0;
  std::string code;
  std::int64_t point_id = 0;
  std::string area_code;
  std::int64_t lab_org_id = 0;
  std::string status = "open";  // open | sealed | in_transit | received
  int tubes = 0;
  Instant created_at{};
  std::int64_t created_by = 0;
  std::optional<Instant> sealed_at;
  std::int64_t sealed_by = 0;
  std::optional<Instant> picked_at;
  std::int64_t picked_by = 0;
  std::string carrier;
  std::optional<Instant> received_at;
  std::int64_t received_by = 0;
  std::optional<Instant> due_at;  // to be received by
};

struct ResultRow {
  std::int64_t id = 0;
  std::int64_t lab_org_id = 0, tube_id = 0, person_id = 0;
  int version = 1;
  bool current = true;
  std::string reported;  // as the lab reported it
  std::string outcome;   // as the profile's Ct rule judges it
  std::optional<double> orf1ab_ct, n_ct;
  std::optional<Instant> sampled_at, tested_at;
  Instant received_at{};
  std::string external_id;
  std::string channel = "api";  // api | csv | fhir | console
  std::string reason;           // a correction's reason
  std::int64_t by_user = 0;
};

struct ConflictRow {
  std::int64_t id = 0;
  std::int64_t result_id = 0;  // the current result it contradicts
  std::int64_t lab_org_id = 0, tube_id = 0, person_id = 0;
  std::string reported;
  std::optional<double> orf1ab_ct, n_ct;
  std::optional<Instant> tested_at;
  Instant received_at{};
  std::string area_code;
  std::string status = "open";  // open | accepted | rejected
  std::int64_t decided_by = 0;
  std::optional<Instant> decided_at;
  std::string note;
};

struct TaskRow {
  std::int64_t id = 0;
  std::int64_t person_id = 0;
  std::string kind;       // retest | antigen_followup | routine
  std::string area_code;  // the person's area when the task was made
  std::int64_t source_tube = 0, round_id = 0;
  int ratio = 1;
  std::string priority = "key";
  bool door_to_door = false;
  std::string flag_colour;  // the colour the person shows while the task is open ("" = none)
  Instant due_at{};
  std::string status = "open";  // open | sampled | cleared | confirmed | missed | cancelled
  std::int64_t tube_id = 0;
  std::string outcome;
  Instant created_at{};
  std::optional<Instant> closed_at;
  std::string task_day;    // routine tasks: the local day they are for (YYYY-MM-DD)
  std::int64_t org_id = 0; // routine tasks: the key-group organisation
  // joined, read-only
  std::string person_name, person_address;
};

// A key group (重点人群): an organisation whose staff are tested routinely.
struct KeyGroupRow {
  std::int64_t org_id = 0;
  std::string group_key;  // a key of the active profile's routine_testing
  Date since{};           // the first task day; then every N days
  std::int64_t set_by = 0;
  Instant set_at{};
  // joined, read-only
  std::string org_name, org_area, org_kind;
  std::int64_t staff = 0;          // persons working there (not merged)
  std::int64_t open_tasks = 0;     // routine tasks open or sampled
  std::int64_t missed_tasks = 0;   // routine tasks missed and not yet made good
};

struct AntigenRow {
  std::int64_t id = 0, person_id = 0;
  std::string result;  // negative | positive | invalid
  Instant taken_at{}, recorded_at{};
  std::int64_t by_user = 0, task_id = 0;
};

struct TestAlertRow {
  std::int64_t id = 0;
  std::string kind;      // positive_pool | positive_case | box_overdue | turnaround_overdue | retest_overdue | result_conflict
  std::string severity;  // info | warning | critical
  std::string subject;   // unique per kind: "tube:123", "box:5", "task:9"
  std::int64_t person_id = 0, tube_id = 0, box_id = 0;
  std::string area_code;
  std::int64_t lab_org_id = 0;
  std::string detail;  // JSON
  Instant raised_at{};
  std::string status = "open";  // open | settled
  std::optional<Instant> settled_at;
};

struct CaseRow {
  std::int64_t id = 0, person_id = 0;
  std::string area_code;
  std::string source;  // lab | manual
  std::int64_t result_id = 0, tube_id = 0;
  std::string classification;
  std::string status = "open";
  Instant opened_at{};
  std::int64_t opened_by = 0;
  std::string note;
  std::optional<Instant> first_positive_at;  // when the positive sample was taken (the exposure window)
};

// Coverage of a round in one grid (or the area a person is registered in): a core row.
using CoverageCell = nat::CoverageRow;

// A resident of a round's area not yet sampled (the door-to-door list).
struct MissingPerson {
  std::int64_t person_id = 0;
  std::string name, doc_number, phone, address, area_code;
  std::int64_t household_id = 0;
};

// A person sampled into a tube (the batched sampling path).
struct NewMember {
  std::int64_t tube_id = 0, person_id = 0, round_id = 0, task_id = 0;
  Instant sampled_at{};
  std::int64_t sampled_by = 0;
  bool open = true;  // false: the tube is closed as it is written (an uploaded full tube)
};

// A registered person found by document number (the sampling upload's lookup).
struct DocRef {
  std::string doc_number;
  std::int64_t id = 0;
  bool merged = false;
};

// A control order's planned test on one day (今日核酸), as its holder sees it: the order with its
// holder and plan, the day's result (order_tests), the person's latest sampling that day and
// whether the day's test_missing alert is open. The plan decides whether the day is a test day
// (the service parses it).
struct OrderTestRow {
  std::int64_t order_id = 0, person_id = 0;
  std::string person_name, doc_number, phone, address, person_area;
  std::int64_t household_id = 0;
  std::string group, stage;
  std::string owner_kind;  // org | area
  std::int64_t owner_org = 0;
  std::string owner_area, owner_name, owner_org_area;
  std::string plan_json;
  std::string result;  // the day's recorded result ("" = none)
  std::optional<double> ct;
  std::optional<Instant> recorded_at;
  std::optional<Instant> sampled_at;  // latest sampling of the person in [day_from, day_to)
  bool alerted = false;               // test_missing alert of the day not closed
};

struct OrderTestQuery {
  Date day{};
  Instant day_from{}, day_to{};  // the local day's bounds
  // The holder (exact): kind "org" with org, or kind "area" with area; "" = every holder in scope.
  std::string holder_kind;
  std::int64_t holder_org = 0;
  std::string holder_area;
};

struct TubeFilter {
  std::string status;
  std::int64_t round_id = 0, box_id = 0;
  std::string result;
};

struct TaskFilter {
  std::string status, kind;
  std::int64_t person_id = 0;
};

class NatRepository {
 public:
  virtual ~NatRepository() = default;
  virtual Repository& base() = 0;
  void transaction(const std::function<void()>& fn) { base().transaction(fn); }

  // --- sampling points
  virtual std::int64_t insert_point(SamplingPointRow& p) = 0;
  virtual std::optional<SamplingPointRow> point(std::int64_t id) = 0;
  virtual std::vector<SamplingPointRow> points(const Scope& scope, int limit) = 0;
  // Name, address, hours, capacity, lab and active of an existing point.
  virtual void update_point(const SamplingPointRow& p) = 0;

  // --- rounds
  virtual std::int64_t insert_round(RoundRow& r) = 0;
  virtual std::optional<RoundRow> round(std::int64_t id) = 0;
  virtual std::vector<RoundRow> rounds(const Scope& scope, int limit) = 0;
  virtual void set_round_status(std::int64_t id, const std::string& status, std::optional<Instant> closed_at) = 0;
  virtual bool upsert_exclusion(const ExclusionRow& x) = 0;  // false when it replaced one
  virtual std::vector<ExclusionRow> exclusions(std::int64_t round_id) = 0;

  // --- tubes
  // Conflict (ErrorCode::conflict) when the barcode exists.
  // Writes status and closed_at as given, members 0 (insert_members counts them).
  virtual std::int64_t insert_tube(TubeRow& t) = 0;
  virtual std::optional<TubeRow> tube(std::int64_t id) = 0;
  virtual std::optional<TubeRow> tube_by_barcode(std::string_view barcode) = 0;
  virtual std::vector<TubeRow> tubes_by_barcodes(const std::vector<std::string>& barcodes) = 0;
  // Tubes of an area prefix (area scope), a lab (org scope) or all; newest first.
  virtual PageOf<TubeRow> tubes(const TubeFilter& f, const Scope& scope, Page page) = 0;
  virtual void update_tube(const TubeRow& t) = 0;  // status, members, closed_at, box, lab, result
  // Inserts the members; a person already in an open tube of the same round is a conflict
  // (ErrorCode::conflict). Adds each to its tube's member count.
  virtual void insert_members(const std::vector<NewMember>& ms) = 0;
  virtual std::vector<MemberRow> members(std::int64_t tube_id) = 0;
  virtual void close_members(std::int64_t tube_id) = 0;  // open = 0
  // The open tube of a round holding the person, if any.
  virtual std::optional<std::int64_t> open_tube_of(std::int64_t round_id, std::int64_t person_id) = 0;
  virtual std::vector<TubeRow> tubes_of_box(std::int64_t box_id) = 0;
  // The persons registered under these document numbers (any scope; chunked IN lists).
  virtual std::vector<DocRef> persons_by_docs(const std::vector<std::string>& doc_numbers) = 0;
  // Of `person_ids`, those who must be sampled into a single tube: under an active control order
  // or with an open re-test task.
  // Of `person_ids`, those under an active control order.
  virtual std::vector<std::int64_t> persons_under_control(const std::vector<std::int64_t>& person_ids) = 0;
  virtual std::vector<std::int64_t> persons_needing_single(const std::vector<std::int64_t>& person_ids) = 0;
  // Tubes of `priority` sampled (closed) before `cutoff` and still without a result.
  virtual std::vector<TubeRow> unresulted_before(const std::string& priority, Instant cutoff, int limit) = 0;
  virtual void set_tubes_status_of_box(std::int64_t box_id, const std::string& status, std::int64_t lab_org_id) = 0;

  // --- boxes
  virtual std::int64_t insert_box(BoxRow& b) = 0;  // conflict when the code exists
  virtual std::optional<BoxRow> box(std::int64_t id) = 0;
  virtual std::optional<BoxRow> box_by_code(std::string_view code) = 0;
  virtual PageOf<BoxRow> boxes(const std::string& status, const Scope& scope, Page page) = 0;
  virtual void update_box(const BoxRow& b) = 0;
  // Boxes sealed or in transit whose due time has passed.
  virtual std::vector<BoxRow> overdue_boxes(Instant now, int limit) = 0;

  // --- results
  virtual std::int64_t insert_result(ResultRow& r) = 0;
  virtual std::optional<ResultRow> current_result_of_tube(std::int64_t tube_id) = 0;
  // The current result a lab reported for a person without a tube, matched by the sampling time
  // (or, without one, the external id).
  virtual std::optional<ResultRow> current_result_of_person(std::int64_t lab_org_id, std::int64_t person_id,
                                                            std::optional<Instant> sampled_at,
                                                            const std::string& external_id) = 0;
  virtual std::optional<ResultRow> result(std::int64_t id) = 0;
  virtual void supersede_result(std::int64_t id) = 0;  // current = 0
  virtual std::vector<ResultRow> results_of_person(std::int64_t person_id, int limit) = 0;
  virtual std::vector<ResultRow> results_of_tube(std::int64_t tube_id) = 0;
  virtual std::int64_t insert_conflict(ConflictRow& c) = 0;
  virtual std::optional<ConflictRow> conflict(std::int64_t id) = 0;
  virtual std::vector<ConflictRow> conflicts(const std::string& status, const Scope& scope, int limit) = 0;
  virtual void decide_conflict(const ConflictRow& c) = 0;

  // --- tasks
  virtual std::int64_t insert_task(TaskRow& t) = 0;
  virtual std::optional<TaskRow> task(std::int64_t id) = 0;
  virtual std::vector<TaskRow> open_tasks_of_person(std::int64_t person_id) = 0;
  virtual std::vector<TaskRow> tasks_from_tube(std::int64_t tube_id) = 0;  // re-tests a tube's result made
  virtual PageOf<TaskRow> tasks(const TaskFilter& f, const Scope& scope, Page page) = 0;
  virtual void update_task(const TaskRow& t) = 0;  // status, tube, outcome, closed_at
  virtual std::vector<TaskRow> overdue_tasks(Instant now, int limit) = 0;
  // The colour of the strongest open flag of a person's tasks ("" = none).
  virtual std::string open_flag(std::int64_t person_id) = 0;

  // --- turnaround: resulted tubes closed since `since`, by lab, priority and whole hours from
  // close to result (lab_org_id, priority, hours, tubes); tubes of the scope's area, or of the lab.
  struct TurnaroundCell {
    std::int64_t lab_org_id = 0;
    std::string lab_name, priority;
    int hours = 0;
    std::int64_t tubes = 0;
  };
  virtual std::vector<TurnaroundCell> turnaround(const Scope& scope, Instant since) = 0;

  // --- key groups and their routine tasks
  virtual void upsert_key_group(const KeyGroupRow& k) = 0;
  virtual bool remove_key_group(std::int64_t org_id) = 0;  // false when there was none
  virtual std::optional<KeyGroupRow> key_group(std::int64_t org_id) = 0;
  // Key groups whose organisation lies in the scope's area (every one for the whole system).
  virtual std::vector<KeyGroupRow> key_groups(const Scope& scope) = 0;
  // One routine task for `day` for every member of the organisation's staff without one
  // (idempotent); returns how many were made.
  // With a post: only the enterprise's roster staff (enterprise_staff) of that post.
  virtual std::int64_t create_routine_tasks(std::int64_t org_id, const std::string& day, Instant due_at,
                                            Instant created_at, const std::string& post = {}) = 0;
  // The routine-testing group of each post of a key group (an enterprise's plan); empty: every
  // member of the staff follows the key group's own group. Replaced as a whole.
  virtual void set_key_group_posts(std::int64_t org_id, const std::map<std::string, std::string>& posts) = 0;
  virtual std::map<std::string, std::string> key_group_posts(std::int64_t org_id) = 0;
  // Whether any routine task is open, sampled or missed (results skip the next call otherwise).
  virtual bool any_open_routine_task() = 0;
  // Closes the open, sampled or missed routine tasks of these persons for days up to `day` (a
  // sample settles the tasks of its day and earlier); returns how many.
  virtual std::int64_t close_routine_tasks(const std::vector<std::int64_t>& person_ids, const std::string& day,
                                           const std::string& status, const std::string& outcome,
                                           std::int64_t tube_id, Instant at) = 0;
  // Open routine tasks past their due time, oldest first.
  virtual std::vector<TaskRow> overdue_routine_tasks(Instant now, int limit) = 0;
  virtual void mark_task_missed(std::int64_t id, const std::string& flag_colour) = 0;

  // --- planned tests of control orders (one query per call): active orders held inside the scope
  // (org scope: owned by the org; area scope: owned by an area inside it or by an organisation
  // located inside it) whose plan names the day, by order id after `after`, at most `limit`.
  virtual std::vector<OrderTestRow> order_tests(const OrderTestQuery& q, const Scope& scope, std::int64_t after,
                                                int limit) = 0;

  virtual std::int64_t insert_antigen(AntigenRow& a) = 0;
  virtual std::vector<AntigenRow> antigen_of_person(std::int64_t person_id, int limit) = 0;

  // --- alerts and cases
  virtual bool raise_alert(TestAlertRow& a) = 0;  // false when (kind, subject) exists
  // Newest first; after_id > 0: only alerts with a larger id (the console's pushed alerts).
  virtual PageOf<TestAlertRow> alerts(const std::string& status, const Scope& scope, Page page,
                                      std::int64_t after_id = 0) = 0;
  virtual std::optional<TestAlertRow> alert(std::int64_t id) = 0;
  virtual void settle_alert(std::int64_t id, Instant at) = 0;
  virtual std::int64_t insert_case(CaseRow& c) = 0;
  virtual std::optional<CaseRow> open_case_of(std::int64_t person_id) = 0;
  virtual PageOf<CaseRow> cases(const Scope& scope, Page page) = 0;

  // --- coverage of a round: one cell per registered area (grid) inside the round's area.
  virtual std::vector<CoverageCell> coverage(const RoundRow& r) = 0;
  // Residents of `area_prefix` (inside the round's area) expected and not yet sampled, by
  // address; keyset on person id.
  virtual PageOf<MissingPerson> missing(const RoundRow& r, const std::string& area_prefix, Page page) = 0;
  // Whether the person is expected in the round (a resident of its area, not merged).
  virtual bool resident_of(const RoundRow& r, std::int64_t person_id) = 0;
};

std::unique_ptr<NatRepository> open_nat_repository(Repository& repo);

}  // namespace bihuan::store
