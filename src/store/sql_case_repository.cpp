// CaseRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <filesystem>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/case_repository.hpp"
#include "store/db.hpp"
#include "store/scan_queue.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

// Calls fn(sql_list, ids_chunk) for chunks of at most 500 ids ("?, ?, ...").
template <typename Fn>
void for_chunks(const std::vector<std::int64_t>& ids, Fn fn) {
  constexpr std::size_t kChunk = 500;
  for (std::size_t i = 0; i < ids.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, ids.size() - i);
    std::string list;
    for (std::size_t k = 0; k < n; ++k) list += k ? ", ?" : "?";
    fn(list, std::vector<std::int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                       ids.begin() + static_cast<std::ptrdiff_t>(i + n)));
  }
}

constexpr const char* kVenueCols = "id, code, name, type, area_code, address, dwell_minutes, org_id, closed_at, closed_reason";
VenueRow read_venue(const Q& q) {
  VenueRow v;
  Cols c(q);
  v.id = c.i64();
  v.code = c.str();
  v.name = c.str();
  v.type = c.str();
  v.area_code = c.str();
  v.address = c.str();
  v.dwell_minutes = c.i64();
  v.org_id = c.i64();
  v.closed_at = c.maybe_at();
  v.closed_reason = c.str();
  return v;
}

constexpr const char* kScanCols = "id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user";

constexpr const char* kCaseCols =
    "id, person_id, area_code, source, result_id, tube_id, classification, status, opened_at, opened_by, note, "
    "severity, origin, vaccination, found_by, occupation, work_unit, current_address, onset_date, death_date, "
    "diagnosed_at, first_positive_at, isolated_at, window_start, window_end, reported_at, investigation_at, "
    "contacts_listed_at, contacts_controlled_at, rev, origin_place, converted_at, closed_at, outcome";
CaseRecord read_case(const Q& q) {
  CaseRecord r;
  Cols c(q);
  r.id = c.i64();
  r.person_id = c.i64();
  r.area_code = c.str();
  r.source = c.str();
  r.result_id = c.i64();
  r.tube_id = c.i64();
  r.classification = c.str();
  r.status = c.str();
  r.opened_at = c.at();
  r.opened_by = c.i64();
  r.note = c.str();
  r.severity = c.str();
  r.origin = c.str();
  r.vaccination = c.str();
  r.found_by = c.str();
  r.occupation = c.str();
  r.work_unit = c.str();
  r.current_address = c.str();
  r.onset_date = c.str();
  r.death_date = c.str();
  r.diagnosed_at = c.maybe_at();
  r.first_positive_at = c.maybe_at();
  r.isolated_at = c.maybe_at();
  r.window_start = c.maybe_at();
  r.window_end = c.maybe_at();
  r.reported_at = c.maybe_at();
  r.investigation_at = c.maybe_at();
  r.contacts_listed_at = c.maybe_at();
  r.contacts_controlled_at = c.maybe_at();
  r.rev = c.i64();
  r.origin_place = c.str();
  r.converted_at = c.maybe_at();
  r.closed_at = c.maybe_at();
  r.outcome = c.str();
  return r;
}

constexpr const char* kContactCols =
    "id, case_id, person_id, degree, via_person_id, kinds, evidence, first_exposure_at, last_exposure_at, status, "
    "reason, decided_by, decided_at, order_id, referral_id, found_at";
ContactRow read_contact(const Q& q) {
  ContactRow r;
  Cols c(q);
  r.id = c.i64();
  r.case_id = c.i64();
  r.person_id = c.i64();
  r.degree = static_cast<int>(c.i64());
  r.via_person_id = c.i64();
  r.kinds = c.str();
  r.evidence = c.str();
  r.first_exposure_at = c.maybe_at();
  r.last_exposure_at = c.maybe_at();
  r.status = c.str();
  r.reason = c.str();
  r.decided_by = c.i64();
  r.decided_at = c.maybe_at();
  r.order_id = c.i64();
  r.referral_id = c.i64();
  r.found_at = c.at();
  return r;
}

constexpr const char* kLinkCols = "id, infector_case_id, infectee_case_id, confidence, evidence, created_by, created_at";
LinkRow read_link(const Q& q) {
  LinkRow l;
  Cols c(q);
  l.id = c.i64();
  l.infector_case_id = c.i64();
  l.infectee_case_id = c.i64();
  l.confidence = c.str();
  l.evidence = c.str();
  l.created_by = c.i64();
  l.created_at = c.at();
  return l;
}

constexpr const char* kDisinfectionCols =
    "d.id, d.venue_id, d.case_id, d.area_code, d.visited_from, d.visited_to, d.due_at, d.close_venue, d.status, "
    "d.created_at, d.done_at, d.done_by, d.note, v.code, v.name";
DisinfectionRow read_disinfection(const Q& q) {
  DisinfectionRow d;
  Cols c(q);
  d.id = c.i64();
  d.venue_id = c.i64();
  d.case_id = c.i64();
  d.area_code = c.str();
  d.visited_from = c.at();
  d.visited_to = c.at();
  d.due_at = c.at();
  d.close_venue = c.i64() != 0;
  d.status = c.str();
  d.created_at = c.at();
  d.done_at = c.maybe_at();
  d.done_by = c.i64();
  d.note = c.str();
  d.venue_code = c.str();
  d.venue_name = c.str();
  return d;
}

constexpr const char* kBriefCols =
    "id, name, area_code, COALESCE(household_id, 0), COALESCE(workplace_org_id, 0), birth_date";
PersonBrief read_brief(const Q& q) {
  PersonBrief p;
  Cols c(q);
  p.id = c.i64();
  p.name = c.str();
  p.area_code = c.str();
  p.household_id = c.i64();
  p.workplace_org_id = c.i64();
  p.birth_date = c.str();
  return p;
}

class SqlCaseRepository final : public CaseRepository {
 public:
  explicit SqlCaseRepository(Repository& repo) : repo_(repo), db_(database_of(repo)) {}
  Repository& base() override { return repo_; }

  // ------------------------------------------------------------ venues
  std::optional<VenueRow> venue(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kVenueCols + " FROM venues WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_venue(q);
  }
  std::optional<VenueRow> venue_by_code(const std::string& code) override {
    Q q(db_, std::string("SELECT ") + kVenueCols + " FROM venues WHERE code = ?");
    q.text(code);
    if (!q.next()) return std::nullopt;
    return read_venue(q);
  }
  std::vector<VenueRow> venues_by_ids(const std::vector<std::int64_t>& ids) override {
    std::vector<VenueRow> out;
    for_chunks(ids, [&](const std::string& list, const std::vector<std::int64_t>& chunk) {
      Q q(db_, std::string("SELECT ") + kVenueCols + " FROM venues WHERE id IN (" + list + ")");
      for (auto id : chunk) q.i64(id);
      while (q.next()) out.push_back(read_venue(q));
    });
    return out;
  }
  void update_venue_tracing(const VenueRow& v) override {
    Q q(db_, "UPDATE venues SET dwell_minutes = ?, org_id = ?, closed_at = ?, closed_reason = ?, rev = rev + 1 WHERE id = ?");
    q.i64(v.dwell_minutes).i64(v.org_id);
    bind_opt_at(q, v.closed_at);
    q.text(v.closed_reason).i64(v.id).run();
  }

  // ------------------------------------------------------------ scans
  // The visits still in the scan queue (SQLite, store/scan_queue.hpp) go into the log first, so
  // that a read outside a transaction sees every acknowledged scan (inside one, the caller moved
  // before it began).
  void move_queued_scans() {
    if (db_.backend() != Backend::sqlite || inside_transaction(repo_)) return;
    const std::string path = sqlite_file_of(repo_);
    if (path.empty()) return;
    if (!queue_) {
      if (!scan_queue_exists(path)) return;
      queue_ = std::make_unique<ScanQueue>(path);
    }
    try {
      queue_->move_into(db_);
    } catch (...) {
      queue_.reset();
      throw;
    }
  }
  std::int64_t append_scan(ScanRow& s) override {
    // SQLite: an id above every one reserved for the scan queue (store/scan_queue.hpp), which
    // hands out its reserved ids to visits not yet in this table.
    Q q(db_, db_.backend() == Backend::sqlite
                 ? std::string("INSERT INTO venue_scans (id, venue_id, person_id, entered_at, exited_at, scan_day, colour, "
                               "pass, via, by_user) VALUES (max(coalesce((SELECT MAX(id) FROM venue_scans), 0), "
                               "coalesce((SELECT upto FROM scan_id_reserved WHERE k = 1), 0)) + 1, "
                               "?, ?, ?, ?, ?, ?, ?, ?, ?)")
                 : db_.dialect().insert_returning(
                       "INSERT INTO venue_scans (venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, "
                       "by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       "id"));
    q.i64(s.venue_id).i64(s.person_id).i64(ms(s.entered_at));
    bind_opt_at(q, s.exited_at);
    q.text(s.scan_day).text(s.colour).i64(s.pass ? 1 : 0).text(s.via).i64(s.by_user);
    s.id = q.inserted_id();
    return s.id;
  }
  std::optional<ScanRow> latest_scan(std::int64_t person_id, std::int64_t venue_id, Instant since) override {
    Q q(db_, std::string("SELECT ") + kScanCols +
                 " FROM venue_scans WHERE person_id = ? AND entered_at >= ? AND venue_id = ? ORDER BY entered_at DESC, "
                 "id DESC LIMIT 1");
    q.i64(person_id).i64(ms(since)).i64(venue_id);
    if (!q.next()) return std::nullopt;
    return read_scan_row(q);
  }
  std::optional<Instant> recent_scan_entry() override {
    Q q(db_, "SELECT MAX(entered_at) FROM (SELECT entered_at FROM venue_scans ORDER BY id DESC LIMIT " +
                 std::to_string(kRecentScanIds) + ") t");
    if (!q.next() || q.null_at(0)) return std::nullopt;
    return from_unix_ms(q.int64(0));
  }
  void set_exit(std::int64_t scan_id, Instant at) override {
    Q(db_, "UPDATE venue_scans SET exited_at = ? WHERE id = ?").i64(ms(at)).i64(scan_id).run();
  }
  std::vector<ScanRow> scans_of_person(std::int64_t person_id, Instant from, Instant to) override {
    move_queued_scans();
    Q q(db_, std::string("SELECT ") + kScanCols +
                 " FROM venue_scans WHERE person_id = ? AND entered_at >= ? AND entered_at < ? ORDER BY entered_at, id");
    q.i64(person_id).i64(ms(from)).i64(ms(to));
    std::vector<ScanRow> out;
    while (q.next()) out.push_back(read_scan_row(q));
    return out;
  }
  std::vector<ScanRow> scans_at_venue(std::int64_t venue_id, Instant from, Instant to) override {
    move_queued_scans();
    Q q(db_, std::string("SELECT ") + kScanCols +
                 " FROM venue_scans WHERE venue_id = ? AND entered_at >= ? AND entered_at < ? ORDER BY entered_at, id");
    q.i64(venue_id).i64(ms(from)).i64(ms(to));
    std::vector<ScanRow> out;
    while (q.next()) out.push_back(read_scan_row(q));
    return out;
  }
  std::int64_t count_scans_of_day(const std::string& day) override {
    move_queued_scans();
    Q q(db_, "SELECT COUNT(*) FROM venue_scans WHERE scan_day = ?");
    q.text(day);
    return q.next() ? q.int64(0) : 0;
  }

  // ------------------------------------------------------------ cases
  std::optional<CaseRecord> case_record(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kCaseCols + " FROM cases WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_case(q);
  }
  std::optional<CaseRecord> open_case_of(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kCaseCols + " FROM cases WHERE person_id = ? AND status = 'open' ORDER BY id LIMIT 1");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_case(q);
  }
  std::optional<ScanFacts> scan_facts(std::int64_t person_id) override {
    // The same conditions as open_case_of, LoopRepository::active_orders_of_person and
    // NatRepository::open_flag (the colour's inputs). The task's status is tested by a CASE, not
    // IN (...) or ORs: SQLite would build an ephemeral table for the list at every run, where a
    // person has a handful of tasks to look at.
    Q q(db_,
        "SELECT p.name, COALESCE(p.merged_into, 0), "
        "CASE WHEN EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND c.status = 'open') THEN 1 ELSE 0 END, "
        "CASE WHEN EXISTS (SELECT 1 FROM control_orders o WHERE o.person_id = p.id AND o.status = 'active') "
        "THEN 1 ELSE 0 END, "
        "CASE WHEN EXISTS (SELECT 1 FROM test_tasks t WHERE t.person_id = p.id AND t.flag_colour <> '' AND "
        "CASE t.status WHEN 'open' THEN 1 WHEN 'sampled' THEN 1 WHEN 'missed' THEN 1 ELSE 0 END = 1) "
        "THEN 1 ELSE 0 END "
        "FROM persons p WHERE p.id = ?");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    ScanFacts f;
    f.name = q.str(0);
    f.merged_into = q.int64(1);
    f.open_case = q.int64(2) != 0;
    f.active_order = q.int64(3) != 0;
    f.test_flag = q.int64(4) != 0;
    return f;
  }
  PageOf<CaseRecord> cases(const CaseFilter& f, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "area_code", "");
    if (!f.status.empty()) {
      w.t(f.status);
      w.add("status = ?");
    }
    if (!f.classification.empty()) {
      w.t(f.classification);
      w.add("classification = ?");
    }
    return page_desc<CaseRecord>(db_, std::string("SELECT ") + kCaseCols + " FROM cases", "id", w, page, read_case);
  }
  std::vector<CaseRecord> cases_by_ids(const std::vector<std::int64_t>& ids) override {
    std::vector<CaseRecord> out;
    for_chunks(ids, [&](const std::string& list, const std::vector<std::int64_t>& chunk) {
      Q q(db_, std::string("SELECT ") + kCaseCols + " FROM cases WHERE id IN (" + list + ")");
      for (auto id : chunk) q.i64(id);
      while (q.next()) out.push_back(read_case(q));
    });
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }
  void bind_case_fields(Q& q, const CaseRecord& c) {
    q.i64(c.person_id).text(c.area_code).text(c.source).i64(c.result_id).i64(c.tube_id).text(c.classification);
    q.text(c.status).i64(ms(c.opened_at)).i64(c.opened_by).text(c.note);
    q.text(c.severity).text(c.origin).text(c.vaccination).text(c.found_by).text(c.occupation).text(c.work_unit);
    q.text(c.current_address).text(c.onset_date).text(c.death_date);
    for (const auto* t : {&c.diagnosed_at, &c.first_positive_at, &c.isolated_at, &c.window_start, &c.window_end,
                          &c.reported_at, &c.investigation_at, &c.contacts_listed_at, &c.contacts_controlled_at})
      bind_opt_at(q, *t);
    q.text(c.origin_place);
    bind_opt_at(q, c.converted_at);
    bind_opt_at(q, c.closed_at);
    q.text(c.outcome);
  }
  static constexpr const char* kCaseSet =
      "person_id = ?, area_code = ?, source = ?, result_id = ?, tube_id = ?, classification = ?, status = ?, "
      "opened_at = ?, opened_by = ?, note = ?, severity = ?, origin = ?, vaccination = ?, found_by = ?, "
      "occupation = ?, work_unit = ?, current_address = ?, onset_date = ?, death_date = ?, diagnosed_at = ?, "
      "first_positive_at = ?, isolated_at = ?, window_start = ?, window_end = ?, reported_at = ?, "
      "investigation_at = ?, contacts_listed_at = ?, contacts_controlled_at = ?, origin_place = ?, converted_at = ?, "
      "closed_at = ?, outcome = ?";
  std::int64_t insert_case(CaseRecord& c) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO cases (person_id, area_code, source, result_id, tube_id, classification, status, "
                 "opened_at, opened_by, note, severity, origin, vaccination, found_by, occupation, work_unit, "
                 "current_address, onset_date, death_date, diagnosed_at, first_positive_at, isolated_at, window_start, "
                 "window_end, reported_at, investigation_at, contacts_listed_at, contacts_controlled_at, origin_place, "
                 "converted_at, closed_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    bind_case_fields(q, c);
    c.id = q.inserted_id();
    c.rev = 1;
    return c.id;
  }
  bool update_case(const CaseRecord& c, std::int64_t rev) override {
    Q q(db_, std::string("UPDATE cases SET ") + kCaseSet + ", rev = rev + 1 WHERE id = ? AND rev = ?");
    bind_case_fields(q, c);
    q.i64(c.id).i64(rev);
    return q.run() == 1;
  }

  // ------------------------------------------------------------ persons
  std::vector<PersonBrief> household_of(std::int64_t household_id) override {
    std::vector<PersonBrief> out;
    if (household_id == 0) return out;
    Q q(db_, std::string("SELECT ") + kBriefCols + " FROM persons WHERE household_id = ? AND merged_into IS NULL ORDER BY id");
    q.i64(household_id);
    while (q.next()) out.push_back(read_brief(q));
    return out;
  }
  std::int64_t count_workplace(std::int64_t org_id) override {
    Q q(db_, "SELECT COUNT(*) FROM persons WHERE workplace_org_id = ? AND merged_into IS NULL");
    q.i64(org_id);
    return q.next() ? q.int64(0) : 0;
  }
  std::vector<PersonBrief> workplace_of(std::int64_t org_id, int limit) override {
    std::vector<PersonBrief> out;
    Q q(db_, std::string("SELECT ") + kBriefCols +
                 " FROM persons WHERE workplace_org_id = ? AND merged_into IS NULL ORDER BY id LIMIT ?");
    q.i64(org_id).i64(limit);
    while (q.next()) out.push_back(read_brief(q));
    return out;
  }
  std::vector<PersonBrief> briefs(const std::vector<std::int64_t>& ids) override {
    std::vector<PersonBrief> out;
    for_chunks(ids, [&](const std::string& list, const std::vector<std::int64_t>& chunk) {
      Q q(db_, std::string("SELECT ") + kBriefCols + " FROM persons WHERE id IN (" + list + ")");
      for (auto id : chunk) q.i64(id);
      while (q.next()) out.push_back(read_brief(q));
    });
    return out;
  }
  std::vector<PersonBrief> persons_for_scans(std::int64_t after, int limit) override {
    Q q(db_, std::string("SELECT ") + kBriefCols + " FROM persons WHERE id > ? AND merged_into IS NULL ORDER BY id LIMIT ?");
    q.i64(after).i64(limit);
    std::vector<PersonBrief> out;
    while (q.next()) out.push_back(read_brief(q));
    return out;
  }
  std::int64_t count_persons_for_scans() override {
    Q q(db_, "SELECT COUNT(*) FROM persons WHERE merged_into IS NULL");
    return q.next() ? q.int64(0) : 0;
  }
  std::vector<VenueRow> venues_for_scans() override {
    Q q(db_, std::string("SELECT ") + kVenueCols + " FROM venues ORDER BY id");
    std::vector<VenueRow> out;
    while (q.next()) out.push_back(read_venue(q));
    return out;
  }
  std::vector<Passenger> fellow_passengers(std::int64_t person_id, Instant from, Instant to) override {
    Q q(db_,
        "SELECT p.manifest_id, p.person_id, p.seat, m.kind, m.ref, m.arrived_at FROM manifest_passengers p "
        "JOIN arrival_manifests m ON m.id = p.manifest_id WHERE p.manifest_id IN (SELECT x.manifest_id FROM "
        "manifest_passengers x JOIN arrival_manifests y ON y.id = x.manifest_id WHERE x.person_id = ? AND "
        "y.arrived_at >= ? AND y.arrived_at < ?) ORDER BY p.manifest_id, p.id");
    q.i64(person_id).i64(ms(from)).i64(ms(to));
    std::vector<Passenger> out;
    while (q.next()) {
      Passenger p;
      Cols c(q);
      p.manifest_id = c.i64();
      p.person_id = c.i64();
      p.seat = c.str();
      p.kind = c.str();
      p.ref = c.str();
      p.arrived_at = c.at();
      out.push_back(std::move(p));
    }
    return out;
  }

  // ------------------------------------------------------------ contacts
  std::vector<ContactRow> contacts(std::int64_t case_id) override {
    Q q(db_, std::string("SELECT ") + kContactCols + " FROM case_contacts WHERE case_id = ? ORDER BY degree, id");
    q.i64(case_id);
    std::vector<ContactRow> out;
    while (q.next()) out.push_back(read_contact(q));
    return out;
  }
  std::optional<ContactRow> contact(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kContactCols + " FROM case_contacts WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_contact(q);
  }
  std::optional<ContactRow> contact_of(std::int64_t case_id, std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kContactCols + " FROM case_contacts WHERE case_id = ? AND person_id = ?");
    q.i64(case_id).i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_contact(q);
  }
  void bind_contact(Q& q, const ContactRow& c) {
    q.i64(c.degree).i64(c.via_person_id).text(c.kinds).text(c.evidence);
    bind_opt_at(q, c.first_exposure_at);
    bind_opt_at(q, c.last_exposure_at);
    q.text(c.status).text(c.reason).i64(c.decided_by);
    bind_opt_at(q, c.decided_at);
    q.i64(c.order_id).i64(c.referral_id);
  }
  std::int64_t insert_contact(ContactRow& c) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO case_contacts (degree, via_person_id, kinds, evidence, first_exposure_at, "
                 "last_exposure_at, status, reason, decided_by, decided_at, order_id, referral_id, case_id, person_id, "
                 "found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    bind_contact(q, c);
    q.i64(c.case_id).i64(c.person_id).i64(ms(c.found_at));
    c.id = q.inserted_id();
    return c.id;
  }
  void update_contact(const ContactRow& c) override {
    Q q(db_,
        "UPDATE case_contacts SET degree = ?, via_person_id = ?, kinds = ?, evidence = ?, first_exposure_at = ?, "
        "last_exposure_at = ?, status = ?, reason = ?, decided_by = ?, decided_at = ?, order_id = ?, referral_id = ? "
        "WHERE id = ?");
    bind_contact(q, c);
    q.i64(c.id).run();
  }
  std::vector<ContactRow> contacts_of_person(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kContactCols +
                 " FROM case_contacts WHERE person_id = ? AND status IN ('accepted', 'controlled', 'referred') ORDER BY id");
    q.i64(person_id);
    std::vector<ContactRow> out;
    while (q.next()) out.push_back(read_contact(q));
    return out;
  }

  // ------------------------------------------------------------ places
  std::int64_t insert_place(PlaceRow& p) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO case_places (case_id, venue_id, description, area_code, from_at, to_at, added_by, "
                 "added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(p.case_id).i64(p.venue_id).text(p.description).text(p.area_code).i64(ms(p.from_at)).i64(ms(p.to_at));
    q.i64(p.added_by).i64(ms(p.added_at));
    p.id = q.inserted_id();
    return p.id;
  }
  std::vector<PlaceRow> places(std::int64_t case_id) override {
    Q q(db_,
        "SELECT id, case_id, venue_id, description, area_code, from_at, to_at, added_by, added_at FROM case_places "
        "WHERE case_id = ? ORDER BY from_at, id");
    q.i64(case_id);
    std::vector<PlaceRow> out;
    while (q.next()) {
      PlaceRow p;
      Cols c(q);
      p.id = c.i64();
      p.case_id = c.i64();
      p.venue_id = c.i64();
      p.description = c.str();
      p.area_code = c.str();
      p.from_at = c.at();
      p.to_at = c.at();
      p.added_by = c.i64();
      p.added_at = c.at();
      out.push_back(std::move(p));
    }
    return out;
  }

  // ------------------------------------------------------------ links
  std::vector<LinkRow> links() override {
    Q q(db_, std::string("SELECT ") + kLinkCols + " FROM case_links ORDER BY id");
    std::vector<LinkRow> out;
    while (q.next()) out.push_back(read_link(q));
    return out;
  }
  std::vector<LinkRow> links_of(const std::vector<std::int64_t>& case_ids) override {
    std::vector<LinkRow> out;
    for_chunks(case_ids, [&](const std::string& list, const std::vector<std::int64_t>& chunk) {
      Q q(db_, std::string("SELECT ") + kLinkCols + " FROM case_links WHERE infector_case_id IN (" + list +
                   ") OR infectee_case_id IN (" + list + ")");
      for (int pass = 0; pass < 2; ++pass)
        for (auto id : chunk) q.i64(id);
      while (q.next()) out.push_back(read_link(q));
    });
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id == b.id; }), out.end());
    return out;
  }
  std::int64_t insert_link(LinkRow& l) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO case_links (infector_case_id, infectee_case_id, confidence, evidence, created_by, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (infector_case_id, infectee_case_id) DO NOTHING",
                 "id"));
    q.i64(l.infector_case_id).i64(l.infectee_case_id).text(l.confidence).text(l.evidence).i64(l.created_by);
    q.i64(ms(l.created_at));
    l.id = q.inserted_id();
    return l.id;
  }
  bool delete_link(std::int64_t id) override { return Q(db_, "DELETE FROM case_links WHERE id = ?").i64(id).run() == 1; }
  std::optional<LinkRow> link(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kLinkCols + " FROM case_links WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_link(q);
  }

  // ------------------------------------------------------------ disinfection
  std::int64_t insert_disinfection(DisinfectionRow& d) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO disinfection_tasks (venue_id, case_id, area_code, visited_from, visited_to, due_at, "
                 "close_venue, status, created_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (venue_id, "
                 "case_id) DO NOTHING",
                 "id"));
    q.i64(d.venue_id).i64(d.case_id).text(d.area_code).i64(ms(d.visited_from)).i64(ms(d.visited_to));
    q.i64(ms(d.due_at)).i64(d.close_venue ? 1 : 0).text(d.status).i64(ms(d.created_at)).text(d.note);
    d.id = q.inserted_id();
    return d.id;
  }
  std::optional<DisinfectionRow> disinfection(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kDisinfectionCols +
                 " FROM disinfection_tasks d JOIN venues v ON v.id = d.venue_id WHERE d.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_disinfection(q);
  }
  PageOf<DisinfectionRow> disinfections(const std::string& status, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "d.area_code", "");
    if (!status.empty()) {
      w.t(status);
      w.add("d.status = ?");
    }
    return page_desc<DisinfectionRow>(
        db_, std::string("SELECT ") + kDisinfectionCols + " FROM disinfection_tasks d JOIN venues v ON v.id = d.venue_id",
        "d.id", w, page, read_disinfection);
  }
  void update_disinfection(const DisinfectionRow& d) override {
    Q q(db_, "UPDATE disinfection_tasks SET status = ?, done_at = ?, done_by = ?, note = ?, close_venue = ? WHERE id = ?");
    q.text(d.status);
    bind_opt_at(q, d.done_at);
    q.i64(d.done_by).text(d.note).i64(d.close_venue ? 1 : 0).i64(d.id).run();
  }
  std::int64_t open_disinfections_of_venue(std::int64_t venue_id) override {
    Q q(db_, "SELECT COUNT(*) FROM disinfection_tasks WHERE venue_id = ? AND status = 'open'");
    q.i64(venue_id);
    return q.next() ? q.int64(0) : 0;
  }

  // --- analytics
  std::vector<CaseDayCount> case_day_counts(const CaseCountQuery& cq, const Scope& scope) override {
    const std::int64_t off = offset_ms(cq);
    Conds w = analytics_conds(cq, scope);
    std::string day;
    switch (cq.by) {
      case CaseDate::onset:
        day = "onset_date";
        w.t(format_date(cq.from));
        w.t(format_date(cq.to));
        w.add("onset_date >= ? AND onset_date <= ?");
        break;
      case CaseDate::report:
      case CaseDate::diagnosis: {
        const std::string col = cq.by == CaseDate::report ? "COALESCE(reported_at, opened_at)" : "diagnosed_at";
        day = "(" + col + " + ?) / 86400000";
        w.i(day_start_ms(cq.from, off));
        w.i(day_start_ms(cq.to, off) + kDayMs);
        w.add(col + " >= ? AND " + col + " < ?");
        break;
      }
    }
    Q q(db_, "SELECT " + day + ", origin, found_by, substr(area_code, 1, 6), COUNT(*) FROM cases" + w.sql +
                 " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    if (cq.by != CaseDate::onset) q.i64(off);
    w.bind(q);
    std::vector<CaseDayCount> out;
    while (q.next()) {
      CaseDayCount r;
      if (cq.by == CaseDate::onset) {
        const auto d = parse_date(q.str(0));
        if (!d) continue;  // a malformed stored onset is not a day
        r.day = *d;
      } else {
        r.day = Date(std::chrono::sys_days(std::chrono::days(q.int64(0))));
      }
      r.origin = q.str(1);
      r.found_by = q.str(2);
      r.district = q.str(3);
      r.n = q.int64(4);
      out.push_back(std::move(r));
    }
    return out;
  }
  std::int64_t count_undated_cases(const CaseCountQuery& cq, const Scope& scope) override {
    if (cq.by == CaseDate::report) return 0;  // every case has a report (or opening) time
    Conds w = analytics_conds(cq, scope);
    w.add(cq.by == CaseDate::onset ? "onset_date = ''" : "diagnosed_at IS NULL");
    const std::int64_t off = offset_ms(cq);
    w.i(day_start_ms(cq.from, off));
    w.i(day_start_ms(cq.to, off) + kDayMs);
    w.add("COALESCE(reported_at, opened_at) >= ? AND COALESCE(reported_at, opened_at) < ?");
    Q q(db_, "SELECT COUNT(*) FROM cases" + w.sql);
    w.bind(q);
    return q.next() ? q.int64(0) : 0;
  }
  std::vector<OnsetReportCount> onset_report_counts(const CaseCountQuery& cq, const Scope& scope) override {
    const std::int64_t off = offset_ms(cq);
    Conds w = analytics_conds(cq, scope);
    w.t(format_date(cq.from));
    w.t(format_date(cq.to));
    w.add("onset_date >= ? AND onset_date <= ?");
    w.i(day_start_ms(cq.to, off) + kDayMs);
    w.add("COALESCE(reported_at, opened_at) < ?");
    Q q(db_, "SELECT onset_date, (COALESCE(reported_at, opened_at) + ?) / 86400000, origin, COUNT(*) FROM cases" +
                 w.sql + " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    q.i64(off);
    w.bind(q);
    std::vector<OnsetReportCount> out;
    while (q.next()) {
      const auto d = parse_date(q.str(0));
      if (!d) continue;
      OnsetReportCount r;
      r.onset = *d;
      r.report = Date(std::chrono::sys_days(std::chrono::days(q.int64(1))));
      r.origin = q.str(2);
      r.n = q.int64(3);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static constexpr std::int64_t kDayMs = 86400000;
  static std::int64_t offset_ms(const CaseCountQuery& cq) { return cq.utc_offset.count() * 60000; }
  // Local 00:00 of `d` in UTC milliseconds.
  static std::int64_t day_start_ms(Date d, std::int64_t off) {
    return std::chrono::sys_days(d).time_since_epoch().count() * kDayMs - off;
  }
  static Conds analytics_conds(const CaseCountQuery& cq, const Scope& scope) {
    Conds w;
    w.scope(scope, "area_code", "");
    if (!cq.area_prefix.empty()) w.area("area_code", cq.area_prefix);
    if (!cq.classifications.empty()) {
      std::string in;
      for (const auto& c : cq.classifications) {
        in += in.empty() ? "?" : ", ?";
        w.t(c);
      }
      w.add("classification IN (" + in + ")");
    }
    return w;
  }
  Repository& repo_;
  Db& db_;
  std::unique_ptr<ScanQueue> queue_;  // this repository's connection to the scan queue, opened on first use
};

}  // namespace

std::unique_ptr<CaseRepository> open_case_repository(Repository& repo) {
  return std::make_unique<SqlCaseRepository>(repo);
}

}  // namespace bihuan::store
