#include "cases/service.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/rbac.hpp"
#include "loop/first_stage.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"
#include "store/scan_queue.hpp"
#include "store/settings.hpp"
#include "store/trace_repository.hpp"

namespace bihuan::cases {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {


[[noreturn]] void no_case(std::int64_t id) { fail(ErrorCode::not_found, "no such case: " + std::to_string(id), "id"); }

bool is_investigator(const Caller& c) { return c.can(Permission::case_investigate); }

// The row number of a seat ("12C" -> 12); nullopt without leading digits.
std::optional<int> seat_row(const std::string& seat) {
  int n = 0;
  std::size_t i = 0;
  while (i < seat.size() && std::isdigit(static_cast<unsigned char>(seat[i])) && i < 4) n = n * 10 + (seat[i++] - '0');
  if (i == 0) return std::nullopt;
  return n;
}

std::optional<Date> opt_date(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return parse_date(s);
}

void add_kind(std::string& kinds, const std::string& k) {
  std::set<std::string> all;
  std::size_t start = 0;
  while (start <= kinds.size() && !kinds.empty()) {
    auto end = kinds.find(',', start);
    all.insert(kinds.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  all.insert(k);
  kinds.clear();
  for (const auto& x : all) kinds += (kinds.empty() ? "" : ",") + x;
}

// A candidate being assembled: its evidence items keyed so that a re-run replaces, not repeats.
struct Candidate {
  int degree = 1;
  std::int64_t via = 0;
  std::string kinds;
  std::map<std::string, json> evidence;
  std::optional<Instant> first, last;
  void exposed(Instant a, Instant b) {
    if (!first || a < *first) first = a;
    if (!last || b > *last) last = b;
  }
};

}  // namespace

Settings read_settings(store::Repository& repo) {
  Settings s;
  s.local = store::local_time_of(repo);
  s.duplicate_seconds = store::setting_int(repo, "trace.duplicate_seconds", s.duplicate_seconds, 0, 3600);
  s.workplace_max = store::setting_int(repo, "trace.workplace_max", s.workplace_max, 0, 100000);
  s.disinfection_hours = store::setting_int(repo, "trace.disinfection_hours", s.disinfection_hours, 1, 24 * 14);
  s.close_venues = store::setting_int(repo, "trace.close_venues", 0, 0, 1) == 1;
  if (store::setting_int(repo, "trace.scan_index", 1, 0, 1) == 1)
    s.scan_index = std::make_shared<ScanLogIndex>(
        store::setting_int(repo, "trace.scan_index_max_rows", 200'000'000, 1000, 2'000'000'000));
  // On a SQLite file the visits go through its scan queue (store/scan_queue.hpp).
  s.scans = std::make_shared<ScanAppender>(
      std::chrono::microseconds{store::setting_int(repo, "trace.scan_group_wait_us", 0, 0, 20000)},
      store::sqlite_file_of(repo), s.scan_index,
      std::chrono::milliseconds{store::setting_int(repo, "trace.scan_move_ms", 500, 10, 5000)});
  for (auto t : all_venue_types()) {
    const std::string type = to_string(t);
    if (repo.setting("trace.min_overlap." + type))
      s.min_overlap[type] = store::setting_int(repo, "trace.min_overlap." + type, tracing::kDefaultMinOverlapMinutes, 0, 24 * 60);
    if (repo.setting("venue.dwell." + type))
      s.dwell[type] = store::setting_int(repo, "venue.dwell." + type, tracing::default_dwell_minutes(type), 1, 24 * 60);
  }
  return s;
}

Service::Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock,
                 const Settings& settings)
    : repo_(repo), loop_(loop), signer_(signer), t_(store::open_case_repository(repo)),
      clock_(clock),
      settings_(settings),
      scans_(settings.scans ? settings.scans : std::make_shared<ScanAppender>()) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void Service::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                    const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

int Service::min_overlap_minutes(const std::string& type) const {
  auto it = settings_.min_overlap.find(type);
  return it == settings_.min_overlap.end() ? tracing::kDefaultMinOverlapMinutes : it->second;
}

int Service::dwell_minutes(const store::VenueRow& v) const {
  if (v.dwell_minutes > 0) return static_cast<int>(v.dwell_minutes);
  auto it = settings_.dwell.find(v.type);
  return it == settings_.dwell.end() ? tracing::default_dwell_minutes(v.type) : it->second;
}

std::string Service::mask(const std::string& name, const Caller& c) const {
  return c.can(Permission::person_unmask) ? name : mask_name(name);
}

tracing::Rules Service::rules() { return tracing::rules_of(loop_.profiles().get(loop_.active_profile())); }

void Service::require_investigator(const Caller& c) {
  if (!is_investigator(c))
    fail(ErrorCode::permission_denied, "cases need case.investigate (investigator, command centre)", "role");
}

store::CaseRecord Service::visible_case(std::int64_t id, const Caller& c) {
  require_investigator(c);
  auto k = t_->case_record(id);
  if (!k || !(c.everything() || area_in_scope(c.scope, k->area_code))) no_case(id);
  return std::move(*k);
}

// ---------------------------------------------------------------- scans

ScanOut Service::scan(const ScanIn& in, const Caller& c) {
  auto d = decide_scan(in, c);
  const auto r = d.appender->append(repo_, std::move(d.visit));
  return finish_scan(std::move(d), r);
}

ScanOut Service::finish_scan(ScanDecision&& d, const ScanAppender::Result& r) {
  ScanOut out = std::move(d.out);
  out.scan_id = r.scan_id;
  if (out.exit) {
    out.pass = true;
    out.colour = r.colour;
    return out;
  }
  out.duplicate = r.duplicate;
  return out;
}

ScanDecision Service::decide_scan(const ScanIn& in, const Caller& c) {
  if (!c.can(Permission::venue_read)) fail(ErrorCode::permission_denied, "scanning needs venue.read", "role");
  if (in.venue_code.empty()) fail(ErrorCode::invalid_argument, "venue is required", "venue");
  if (in.code_token.empty() && in.doc_number.empty())
    fail(ErrorCode::invalid_argument, "scan a health code or give the ID number", "code");
  const Instant now = clock_.now();
  // The answer is decided outside the write lock (token, venue, person, colour); only the visit
  // goes through the group commit (cases/scan_appender.hpp), and the answer waits for it.
  std::optional<code::Claims> claims;
  if (!in.code_token.empty()) {
    if (!signer_) fail(ErrorCode::invalid_argument, "health codes cannot be verified here", "code");
    claims = scans_->verify(in.code_token, signer_->keys(), now);
  }
  auto v = scans_->venue(*t_, in.venue_code, now);
  const bool visible = v && (c.everything() ||
                             (c.scope.kind == Scope::Kind::org ? v->org_id != 0 && v->org_id == c.scope.org_id
                                                                : area_in_scope(c.scope, v->area_code)));
  if (!visible) fail(ErrorCode::not_found, "no such venue: " + in.venue_code, "venue");
  // The person by the token's id or the ID number, then what the answer needs of them in one read.
  std::int64_t person_id = 0;
  if (claims) {
    person_id = claims->person_id;
  } else {
    std::string doc = in.doc_number;
    for (auto& ch : doc)
      if (ch == 'x') ch = 'X';
    if (auto p = repo_.person_by_doc(doc, Scope::everything())) person_id = p->id;
  }
  std::optional<store::ScanFacts> f;
  if (person_id > 0) f = scans_->facts(repo_, *t_, person_id);
  if (!f || f->merged_into != 0)
    fail(ErrorCode::not_found, claims ? "the health code's person is not registered" : "no person registered with this ID number",
         claims ? "code" : "doc_number");
  ScanDecision d;
  d.appender = scans_;
  ScanOut& out = d.out;
  out.venue_code = v->code;
  out.venue_name = v->name;
  out.masked_name = mask_name(f->name);
  out.exit = in.exit;
  ScanAppender::Visit& visit = d.visit;
  visit.row.venue_id = v->id;
  visit.row.person_id = person_id;
  visit.row.entered_at = now;
  visit.venue_code = v->code;
  if (in.exit) {
    visit.exit = true;
    return d;
  }
  // Without an active order or a flagging test task, nothing raises the colour (loop::Service::
  // colour_of would read both and find nothing).
  const Date today = settings_.local.date_of(now);
  const auto colour = f->active_order || f->test_flag ? loop_.colour_of(person_id, today)
                                                      : code::colour_on(code::ColourInputs{}, today);
  out.colour = policy::to_string(colour);
  const bool case_open = f->open_case;
  if (case_open) out.colour = "red";
  out.pass = out.colour == "green";
  if (!out.pass) out.reason = case_open ? "case" : "colour";
  if (out.pass && v->closed_at) {
    out.pass = false;
    out.reason = "venue_closed";
  }
  visit.duplicate_seconds = settings_.duplicate_seconds;
  {
    // The day's text once per day and thread, not per scan.
    thread_local Date day{};
    thread_local std::string day_text;
    if (day_text.empty() || day != today) {
      day_text = format_date(today);
      day = today;
    }
    visit.row.scan_day = day_text;
  }
  visit.row.colour = out.colour;
  visit.row.pass = out.pass;
  visit.row.via = claims ? "code" : "doc";
  visit.row.by_user = c.user_id;
  return d;
}

// ---------------------------------------------------------------- cases

namespace {

void apply_update(store::CaseRecord& k, const CaseUpdate& u, Instant now) {
  auto check = [](const std::optional<std::string>& v, auto from, const char* field, const char* allowed) {
    if (v && !v->empty() && !from(*v))
      fail(ErrorCode::invalid_argument, std::string(field) + " must be one of " + allowed, field);
  };
  check(u.classification, tracing::classification_from, "classification", "suspected, clinical, confirmed, asymptomatic");
  check(u.severity, tracing::severity_from, "severity", "mild, moderate, severe, critical");
  check(u.found_by, tracing::found_by_from, "found_by",
        "central_quarantine, home_isolation, closed_loop_work, key_group_screening, round_screening, clinic, other");
  if (u.origin && *u.origin != "local" && *u.origin != "imported")
    fail(ErrorCode::invalid_argument, "origin must be local or imported", "origin");
  if (u.status && *u.status != "open" && *u.status != "closed")
    fail(ErrorCode::invalid_argument, "status must be open or closed", "status");
  if (u.outcome && !u.outcome->empty() && *u.outcome != "recovered" && *u.outcome != "died" && *u.outcome != "excluded")
    fail(ErrorCode::invalid_argument, "outcome must be recovered, died or excluded", "outcome");
  if (u.origin_place && u.origin_place->size() > 100)
    fail(ErrorCode::invalid_argument, "origin_place is longer than 100 characters", "origin_place");
  for (auto [v, field] : {std::pair{&u.onset_date, "onset_date"}, std::pair{&u.death_date, "death_date"}})
    if (*v && !v->value().empty() && !parse_date(v->value()))
      fail(ErrorCode::invalid_argument, std::string(field) + " must be a date YYYY-MM-DD", field);
  auto set = [](std::string& dst, const std::optional<std::string>& v) {
    if (v) dst = *v;
  };
  const std::string was_class = k.classification, was_status = k.status;
  set(k.classification, u.classification);
  set(k.severity, u.severity);
  set(k.origin_place, u.origin_place);
  set(k.origin, u.origin);
  set(k.vaccination, u.vaccination);
  set(k.found_by, u.found_by);
  set(k.occupation, u.occupation);
  set(k.work_unit, u.work_unit);
  set(k.current_address, u.current_address);
  set(k.onset_date, u.onset_date);
  set(k.death_date, u.death_date);
  set(k.note, u.note);
  set(k.status, u.status);
  // The bulletin counts an asymptomatic infection confirmed later (无症状感染者转为确诊病例) on the
  // day of the change, and closings by their day and outcome.
  if (was_class == "asymptomatic" && (k.classification == "confirmed" || k.classification == "clinical") &&
      !k.converted_at)
    k.converted_at = now;
  if (k.classification == "asymptomatic") k.converted_at.reset();
  if (was_status != "closed" && k.status == "closed") {
    k.closed_at = now;
    k.outcome = u.outcome && !u.outcome->empty() ? *u.outcome : (k.death_date.empty() ? "recovered" : "died");
  } else if (k.status == "closed" && u.outcome && !u.outcome->empty()) {
    k.outcome = *u.outcome;
  } else if (k.status == "open") {
    if (u.outcome && !u.outcome->empty())
      fail(ErrorCode::invalid_argument, "an outcome is recorded when the case is closed", "outcome");
    k.closed_at.reset();
    k.outcome.clear();
  }
  if (u.diagnosed_at) k.diagnosed_at = *u.diagnosed_at;
  if (u.first_positive_at) k.first_positive_at = *u.first_positive_at;
  if (u.isolated_at) k.isolated_at = *u.isolated_at;
  for (const auto* t : {&k.diagnosed_at, &k.first_positive_at, &k.isolated_at})
    if (*t && **t > now + minutes{5}) fail(ErrorCode::invalid_argument, "a time of the case lies in the future", "time");
  if (auto onset = opt_date(k.onset_date); onset && std::chrono::sys_days{*onset} > std::chrono::floor<std::chrono::days>(now) + std::chrono::days{1})
    fail(ErrorCode::invalid_argument, "onset_date lies in the future", "onset_date");
  if (u.report) {
    if (k.classification.empty())
      fail(ErrorCode::invalid_argument, "the classification is required to report the card", "classification");
    if (!k.diagnosed_at) fail(ErrorCode::invalid_argument, "the diagnosis time is required to report the card", "diagnosed_at");
    if (!k.reported_at) k.reported_at = now;
  }
}

}  // namespace

CaseView Service::case_view(std::int64_t id, const Caller& c) {
  return write([&] {
    CaseView v;
    v.rec = visible_case(id, c);
    if (auto p = repo_.person(v.rec.person_id, Scope::everything())) {
      const bool unmask = c.can(Permission::person_unmask);
      v.name = unmask ? p->name : mask_name(p->name);
      v.doc_number = unmask ? p->doc_number : mask_id_number(p->doc_number);
      v.phone = unmask ? p->phone : mask_phone(p->phone);
      v.sex = to_string(p->sex);
      v.birth_date = p->birth_date.ok() ? format_date(p->birth_date) : std::string();
      v.address = p->address;
      audit(c, unmask ? "person.unmask" : "person.read", "person", p->id, "case " + std::to_string(id));
    }
    tracing::Marks m{v.rec.diagnosed_at, v.rec.reported_at, v.rec.investigation_at, v.rec.contacts_listed_at,
                     v.rec.contacts_controlled_at};
    v.breaches = tracing::breaches(m, rules(), clock_.now());
    v.breach_alerts = store::open_treatment_repository(repo_)->breach_alerts(id);
    return v;
  });
}

store::PageOf<store::CaseRecord> Service::cases(const store::CaseFilter& f, const Caller& c, store::Page page) {
  require_investigator(c);
  return t_->cases(f, c.scope, page);
}

store::CaseRecord Service::open_case(const NewCase& n, const Caller& c) {
  require_investigator(c);
  return write([&] {
    std::optional<Person> p;
    if (n.person_id) p = repo_.person(n.person_id, c.scope);
    else if (!n.doc_number.empty()) p = repo_.person_by_doc(n.doc_number, c.scope);
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no such person in your area", "person_id");
    if (auto open = t_->open_case_of(p->id))
      fail(ErrorCode::conflict, "the person has an open case: " + std::to_string(open->id), "person_id");
    store::CaseRecord k;
    k.person_id = p->id;
    k.area_code = p->area_code;
    k.source = "manual";
    k.opened_at = clock_.now();
    k.opened_by = c.user_id;
    k.current_address = p->address;
    apply_update(k, n.fields, clock_.now());
    t_->insert_case(k);
    audit(c, "case.open", "case", k.id, {}, json{{"person_id", p->id}, {"classification", k.classification}}.dump());
    return k;
  });
}

store::CaseRecord Service::update_case(std::int64_t id, const CaseUpdate& u, std::int64_t rev, const Caller& c) {
  return write([&] {
    auto k = visible_case(id, c);
    if (rev != k.rev) fail(ErrorCode::conflict, "the case changed since it was read (revision " + std::to_string(k.rev) + ")", "rev");
    apply_update(k, u, clock_.now());
    if (!t_->update_case(k, rev)) fail(ErrorCode::conflict, "the case changed since it was read", "rev");
    audit(c, u.report ? "case.report" : "case.update", "case", id);
    ++k.rev;
    return k;
  });
}

// ---------------------------------------------------------------- investigation

FindReport Service::find_contacts(std::int64_t case_id, const Caller& c) {
  // Every acknowledged visit still in the scan queue goes into the log first (not inside the
  // transaction below: the queue rows are deleted after the move commits).
  scans_->move(repo_);
  auto out = write([&] {
    auto k = visible_case(case_id, c);
    const auto r = rules();
    const Instant now = clock_.now();
    const auto cls = tracing::classification_from(k.classification).value_or(tracing::Classification::confirmed);
    std::optional<Instant> first_positive = k.first_positive_at;
    if (!first_positive && k.source == "lab") first_positive = k.opened_at;
    auto window = tracing::exposure_window(cls, opt_date(k.onset_date), first_positive, k.isolated_at, now,
                                           r.exposure_days_before, settings_.local);
    if (!window)
      fail(ErrorCode::invalid_argument,
           "case " + std::to_string(case_id) + " has no onset date and no positive sampling: the exposure window cannot be placed",
           "onset_date");
    FindReport rep;
    rep.window = window;
    auto person = repo_.person(k.person_id, Scope::everything());
    std::map<std::int64_t, Candidate> found;
    auto cand = [&](std::int64_t pid) -> Candidate& { return found[pid]; };

    if (r.trace_close && person) {
      for (const auto& m : t_->household_of(person->household_id)) {
        auto& x = cand(m.id);
        add_kind(x.kinds, "household");
        x.evidence["household"] = json{{"kind", "household"}, {"household_id", person->household_id}};
        x.exposed(window->start, window->end);
      }
      if (person->workplace_org_id && t_->count_workplace(person->workplace_org_id) <= settings_.workplace_max) {
        for (const auto& m : t_->workplace_of(person->workplace_org_id, settings_.workplace_max + 1)) {
          auto& x = cand(m.id);
          add_kind(x.kinds, "workplace");
          x.evidence["workplace"] = json{{"kind", "workplace"}, {"org_id", person->workplace_org_id}};
          x.exposed(window->start, window->end);
        }
      }
      // Fellow passengers within the seat rule on manifests arriving inside the window.
      std::optional<int> own_row;
      std::int64_t own_manifest = 0;
      const auto passengers = t_->fellow_passengers(k.person_id, window->start, window->end + hours{1});
      for (const auto& pz : passengers) {
        if (pz.person_id == k.person_id) {
          own_row = seat_row(pz.seat);
          own_manifest = pz.manifest_id;
        }
      }
      if (own_manifest) {
        for (const auto& pz : passengers) {
          if (pz.person_id == k.person_id || pz.manifest_id != own_manifest) continue;
          auto row = seat_row(pz.seat);
          if (!own_row || !row || std::abs(*row - *own_row) > r.co_traveller_rows) continue;
          auto& x = cand(pz.person_id);
          add_kind(x.kinds, "co_traveller");
          x.evidence["travel:" + std::to_string(pz.manifest_id)] =
              json{{"kind", "co_traveller"}, {"ref", pz.ref}, {"seat", pz.seat}, {"arrived_at", settings_.local.format(pz.arrived_at)}};
          x.exposed(pz.arrived_at - hours{2}, pz.arrived_at);
        }
      }
      // Venue scans: every visit overlapping the case's visits (clipped to the window) by at
      // least the venue type's minimum.
      auto own = t_->scans_of_person(k.person_id, window->start - hours{24}, window->end);
      std::map<std::int64_t, std::optional<store::VenueRow>> venues;
      struct Visit {
        const store::VenueRow* v;
        Instant a0, a1;
      };
      std::vector<Visit> visits;
      for (const auto& s : own) {
        if (!s.pass) continue;
        auto& v = venues[s.venue_id];
        if (!v) v = t_->venue(s.venue_id);
        if (!v) continue;
        const Instant a0 = std::max(s.entered_at, window->start);
        const Instant a1 = std::min(tracing::visit_end(s.entered_at, s.exited_at, minutes{dwell_minutes(*v)}), window->end);
        if (a1 <= a0) continue;
        // Disinfection of the place the case was in while infectious.
        store::DisinfectionRow d;
        d.venue_id = v->id;
        d.case_id = k.id;
        d.area_code = v->area_code;
        d.visited_from = a0;
        d.visited_to = a1;
        d.due_at = now + hours{settings_.disinfection_hours};
        d.close_venue = settings_.close_venues;
        d.created_at = now;
        if (t_->insert_disinfection(d)) {
          ++rep.disinfection_tasks;
          if (settings_.close_venues && !v->closed_at) {
            v->closed_at = now;
            v->closed_reason = "disinfection after case " + std::to_string(k.id);
            t_->update_venue_tracing(*v);
          }
        }
        ++rep.venues;
        visits.push_back(Visit{&*v, a0, a1});
      }
      // The other visits at those venues: from the scan log's index when the server keeps one
      // (cases/scan_log_index.hpp: the log's current rows, read back by id), else one range query
      // per visit. Both give the rows entering from a0 - 24 h (the longest stay an exit scan can
      // close) to a1 that can overlap, and the same rule below decides.
      std::vector<std::vector<store::ScanRow>> others(visits.size());
      std::optional<std::vector<std::vector<store::TraceLogRow>>> rows;
      if (settings_.scan_index) {
        std::vector<ScanLogIndex::Query> qs;
        for (const auto& vi : visits)
          qs.push_back(ScanLogIndex::Query{vi.v->id, vi.a0 - hours{24}, vi.a1, vi.a0, vi.a1,
                                           seconds{min_overlap_minutes(vi.v->type) * 60}, minutes{dwell_minutes(*vi.v)}});
        auto log = store::open_trace_repository(repo_);
        rows = settings_.scan_index->lookup(*log, qs, now);  // nullopt: the log is too large for it
      }
      if (rows) {
        for (std::size_t i = 0; i < rows->size(); ++i)
          for (const auto& row : (*rows)[i]) {
            store::ScanRow o;
            o.id = row.id;
            o.venue_id = row.venue_id;
            o.person_id = row.person_id;
            o.entered_at = Instant{std::chrono::milliseconds{row.entered_at_ms}};
            if (row.exited_at_ms) o.exited_at = Instant{std::chrono::milliseconds{*row.exited_at_ms}};
            o.pass = row.pass;
            others[i].push_back(std::move(o));
          }
      } else {
        for (std::size_t i = 0; i < visits.size(); ++i)
          others[i] = t_->scans_at_venue(visits[i].v->id, visits[i].a0 - hours{24}, visits[i].a1);
      }
      for (std::size_t i = 0; i < visits.size(); ++i) {
        const auto* v = visits[i].v;
        const Instant a0 = visits[i].a0, a1 = visits[i].a1;
        const auto need = seconds{min_overlap_minutes(v->type) * 60};
        for (const auto& o : others[i]) {
          if (o.person_id == k.person_id || !o.pass) continue;
          const Instant b1 = tracing::visit_end(o.entered_at, o.exited_at, minutes{dwell_minutes(*v)});
          const auto ov = tracing::overlap(a0, a1, o.entered_at, b1);
          if (ov < need || ov.count() == 0) continue;
          auto& x = cand(o.person_id);
          add_kind(x.kinds, "venue");
          const std::string key = "venue:" + std::to_string(v->id);
          const auto mins = std::chrono::duration_cast<minutes>(ov).count();
          auto it = x.evidence.find(key);
          if (it == x.evidence.end() || it->second["overlap_minutes"].get<std::int64_t>() < mins)
            x.evidence[key] = json{{"kind", "venue"},
                                   {"venue", v->code},
                                   {"venue_name", v->name},
                                   {"venue_type", v->type},
                                   {"from", settings_.local.format(std::max(a0, o.entered_at))},
                                   {"to", settings_.local.format(std::min(a1, b1))},
                                   {"overlap_minutes", mins}};
          x.exposed(std::max(a0, o.entered_at), std::min(a1, b1));
        }
      }
    }
    found.erase(k.person_id);
    // Secondary contacts: co-residents of the close contacts decided into control.
    if (r.trace_secondary) {
      for (const auto& ct : t_->contacts(k.id)) {
        if (ct.degree != 1 || (ct.status != "accepted" && ct.status != "controlled" && ct.status != "referred")) continue;
        auto who = t_->briefs({ct.person_id});
        if (who.empty()) continue;
        for (const auto& m : t_->household_of(who.front().household_id)) {
          if (m.id == k.person_id || m.id == ct.person_id || found.count(m.id)) continue;
          auto& x = cand(m.id);
          x.degree = 2;
          x.via = ct.person_id;
          add_kind(x.kinds, "household_of_contact");
          x.evidence["via:" + std::to_string(ct.person_id)] = json{{"kind", "household_of_contact"}, {"contact_id", ct.id}};
          x.exposed(ct.first_exposure_at.value_or(window->start), now);
        }
      }
    }
    // Merge: new candidates are added; undecided ones get the new evidence; decisions stay.
    for (auto& [pid, x] : found) {
      json ev = json::array();
      for (auto& [key, item] : x.evidence) ev.push_back(item);
      auto existing = t_->contact_of(k.id, pid);
      if (existing) {
        if (existing->status != "candidate") continue;
        existing->kinds = x.kinds;
        existing->evidence = ev.dump();
        existing->first_exposure_at = x.first;
        existing->last_exposure_at = x.last;
        t_->update_contact(*existing);
        continue;
      }
      store::ContactRow row;
      row.case_id = k.id;
      row.person_id = pid;
      row.degree = x.degree;
      row.via_person_id = x.via;
      row.kinds = x.kinds;
      row.evidence = ev.dump();
      row.first_exposure_at = x.first;
      row.last_exposure_at = x.last;
      row.found_at = now;
      t_->insert_contact(row);
      ++rep.added;
    }
    rep.candidates = static_cast<std::int64_t>(found.size());
    k.window_start = window->start;
    k.window_end = window->end;
    if (!k.investigation_at) k.investigation_at = now;
    if (!k.contacts_listed_at) k.contacts_listed_at = now;
    if (!t_->update_case(k, k.rev)) fail(ErrorCode::conflict, "the case changed during the investigation", "rev");
    audit(c, "case.trace", "case", k.id, {},
          json{{"candidates", rep.candidates}, {"added", rep.added}, {"venues", rep.venues}}.dump());
    return rep;
  });
  // Venues closed for disinfection stop scans at once (not after the scan path's venue cache).
  if (settings_.close_venues && out.disinfection_tasks > 0) scans_->forget_venues();
  return out;
}

std::vector<ContactView> Service::contacts(std::int64_t case_id, const Caller& c) {
  return write([&] {
    visible_case(case_id, c);
    auto rows = t_->contacts(case_id);
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) ids.push_back(r.person_id);
    std::unordered_map<std::int64_t, store::PersonBrief> who;
    for (auto& b : t_->briefs(ids)) who.emplace(b.id, std::move(b));
    std::vector<ContactView> out;
    for (auto& r : rows) {
      ContactView v;
      auto it = who.find(r.person_id);
      if (it != who.end()) {
        v.name = mask(it->second.name, c);
        v.area_code = it->second.area_code;
        v.in_area = c.everything() || area_in_scope(c.scope, v.area_code);
        // Outside the caller's area: where the person lives is the receiving command centre's.
        if (!v.in_area) v.area_code.clear();
      }
      v.row = std::move(r);
      out.push_back(std::move(v));
    }
    audit(c, "case.contacts.read", "case", case_id, {}, json{{"contacts", out.size()}}.dump());
    return out;
  });
}

ContactView Service::add_contact(std::int64_t case_id, std::int64_t person_id, const std::string& doc_number,
                                 const std::string& note, const Caller& c) {
  return write([&] {
    auto k = visible_case(case_id, c);
    std::optional<Person> p;
    if (person_id) p = repo_.person(person_id, Scope::everything());
    else if (!doc_number.empty()) p = repo_.person_by_doc(doc_number, Scope::everything());
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no person registered with this ID number", "doc_number");
    if (p->id == k.person_id) fail(ErrorCode::invalid_argument, "a case is not its own contact", "person_id");
    auto row = t_->contact_of(k.id, p->id);
    if (!row) {
      store::ContactRow r;
      r.case_id = k.id;
      r.person_id = p->id;
      r.kinds = "manual";
      r.evidence = json::array({json{{"kind", "manual"}, {"note", note}}}).dump();
      r.status = "accepted";
      r.decided_by = c.user_id;
      r.decided_at = clock_.now();
      r.found_at = clock_.now();
      r.reason = note;
      t_->insert_contact(r);
      row = r;
    } else if (row->status == "candidate" || row->status == "rejected") {
      row->status = "accepted";
      row->reason = note;
      row->decided_by = c.user_id;
      row->decided_at = clock_.now();
      t_->update_contact(*row);
    }
    audit(c, "case.contact.add", "case", k.id, note, json{{"person_id", p->id}}.dump());
    ContactView v;
    v.row = *row;
    v.name = mask(p->name, c);
    v.in_area = c.everything() || area_in_scope(c.scope, p->area_code);
    if (v.in_area) v.area_code = p->area_code;
    return v;
  });
}

ContactView Service::decide(std::int64_t contact_id, bool accept, const std::string& reason, const Caller& c) {
  if (!accept && reason.empty()) fail(ErrorCode::invalid_argument, "a reason is required to reject a contact", "reason");
  require_investigator(c);
  return write([&] {
    auto row = t_->contact(contact_id);
    // A contact of a case outside the scope answers like an unknown contact.
    auto k = row ? t_->case_record(row->case_id) : std::nullopt;
    if (!row || !k || !(c.everything() || area_in_scope(c.scope, k->area_code)))
      fail(ErrorCode::not_found, "no such contact: " + std::to_string(contact_id), "id");
    if (row->status == "controlled" || row->status == "referred")
      fail(ErrorCode::conflict, "the contact is under control already", "id");
    row->status = accept ? "accepted" : "rejected";
    row->reason = reason;
    row->decided_by = c.user_id;
    row->decided_at = clock_.now();
    t_->update_contact(*row);
    audit(c, accept ? "case.contact.accept" : "case.contact.reject", "case", row->case_id, reason,
          json{{"contact_id", row->id}, {"person_id", row->person_id}}.dump());
    ContactView v;
    auto who = t_->briefs({row->person_id});
    if (!who.empty()) {
      v.name = mask(who.front().name, c);
      v.in_area = c.everything() || area_in_scope(c.scope, who.front().area_code);
      if (v.in_area) v.area_code = who.front().area_code;
    }
    v.row = std::move(*row);
    return v;
  });
}

ControlReport Service::control(std::int64_t case_id, const Caller& c) {
  return write([&] {
    auto k = visible_case(case_id, c);
    ControlReport rep;
    const Instant now = clock_.now();
    const Date today = settings_.local.date_of(now);
    const auto& prof = loop_.profiles().get(loop_.active_profile());
    for (auto row : t_->contacts(k.id)) {
      if (row.status != "accepted") continue;
      const std::string group = row.degree == 2 ? "secondary_contact" : "close_contact";
      auto active = loop_.loop().active_orders_of_person(row.person_id);
      if (!active.empty()) {
        row.status = "controlled";
        row.order_id = active.front().order.id;
        t_->update_contact(row);
        ++rep.already;
        continue;
      }
      auto who = t_->briefs({row.person_id});
      if (who.empty()) continue;
      loop::NewOrder n;
      n.person_id = row.person_id;
      n.group = group;
      n.source = loop::OrderSource::close_contact;
      n.start = today;
      n.stage = loop::first_stage_at_home(prof, group);
      n.owner = loop::Owner::area(who.front().area_code);
      n.note = "case " + std::to_string(k.id);
      try {
        auto out = loop_.create_or_refer(n, c);
        if (out.order) {
          row.status = "controlled";
          row.order_id = out.order->order.id;
          ++rep.orders;
        } else if (out.referral) {
          row.status = "referred";
          row.referral_id = out.referral->id;
          ++rep.referrals;
        }
        t_->update_contact(row);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::unavailable) throw;
        rep.errors.push_back("contact " + std::to_string(row.id) + ": " + e.what());
      }
    }
    if (rep.errors.empty() && !k.contacts_controlled_at) {
      bool all = true;
      for (const auto& row : t_->contacts(k.id))
        if (row.status == "accepted") all = false;
      if (all) {
        k.contacts_controlled_at = now;
        t_->update_case(k, k.rev);
      }
    }
    audit(c, "case.control", "case", k.id, {},
          json{{"orders", rep.orders}, {"referrals", rep.referrals}, {"already", rep.already}}.dump());
    return rep;
  });
}

store::PlaceRow Service::add_place(std::int64_t case_id, const std::string& venue_code, const std::string& description,
                                   Instant from, Instant to, const Caller& c) {
  if (to <= from) fail(ErrorCode::invalid_argument, "the end of the stay must follow its start", "to");
  if (venue_code.empty() && description.empty())
    fail(ErrorCode::invalid_argument, "a venue code or a description is required", "description");
  return write([&] {
    auto k = visible_case(case_id, c);
    store::PlaceRow p;
    p.case_id = k.id;
    if (!venue_code.empty()) {
      auto v = t_->venue_by_code(venue_code);
      if (!v) fail(ErrorCode::not_found, "no such venue: " + venue_code, "venue");
      p.venue_id = v->id;
      p.area_code = v->area_code;
      store::DisinfectionRow d;
      d.venue_id = v->id;
      d.case_id = k.id;
      d.area_code = v->area_code;
      d.visited_from = from;
      d.visited_to = to;
      d.due_at = clock_.now() + hours{settings_.disinfection_hours};
      d.close_venue = settings_.close_venues;
      d.created_at = clock_.now();
      t_->insert_disinfection(d);
    }
    p.description = description;
    p.from_at = from;
    p.to_at = to;
    p.added_by = c.user_id;
    p.added_at = clock_.now();
    t_->insert_place(p);
    audit(c, "case.place.add", "case", k.id, description, json{{"venue", venue_code}}.dump());
    return p;
  });
}

std::vector<store::PlaceRow> Service::places(std::int64_t case_id, const Caller& c) {
  visible_case(case_id, c);
  return t_->places(case_id);
}

// ---------------------------------------------------------------- chains

store::LinkRow Service::link(std::int64_t infector, std::int64_t infectee, const std::string& confidence,
                             const std::string& evidence, const Caller& c) {
  if (confidence != "confirmed" && confidence != "probable" && confidence != "possible")
    fail(ErrorCode::invalid_argument, "confidence must be confirmed, probable or possible", "confidence");
  return write([&] {
    visible_case(infector, c);
    visible_case(infectee, c);
    std::vector<tracing::Link> all;
    for (const auto& l : t_->links()) all.push_back({l.infector_case_id, l.infectee_case_id});
    if (tracing::would_cycle(all, infector, infectee))
      fail(ErrorCode::invalid_argument,
           "case " + std::to_string(infector) + " -> " + std::to_string(infectee) + " would make a cycle in the chain",
           "infectee");
    store::LinkRow l;
    l.infector_case_id = infector;
    l.infectee_case_id = infectee;
    l.confidence = confidence;
    l.evidence = evidence;
    l.created_by = c.user_id;
    l.created_at = clock_.now();
    if (!t_->insert_link(l)) fail(ErrorCode::conflict, "the link exists already", "infectee");
    audit(c, "case.link", "case", infectee, evidence, json{{"infector", infector}, {"confidence", confidence}}.dump());
    return l;
  });
}

void Service::unlink(std::int64_t link_id, const Caller& c) {
  require_investigator(c);
  write([&] {
    auto l = t_->link(link_id);
    auto visible = [&](std::int64_t id) {
      auto k = t_->case_record(id);
      return k && (c.everything() || area_in_scope(c.scope, k->area_code));
    };
    // A link touching a case outside the scope answers like an unknown link.
    if (!l || !visible(l->infector_case_id) || !visible(l->infectee_case_id))
      fail(ErrorCode::not_found, "no such link: " + std::to_string(link_id), "id");
    t_->delete_link(link_id);
    audit(c, "case.unlink", "case", l->infectee_case_id, {}, json{{"infector", l->infector_case_id}}.dump());
  });
}

ChainView Service::chains(const Caller& c) {
  require_investigator(c);
  ChainView out;
  std::vector<store::CaseRecord> recs;
  store::Page page{0, 1000};
  for (;;) {
    auto p = t_->cases({}, c.scope, page);
    for (auto& k : p.items) recs.push_back(std::move(k));
    if (!p.next || recs.size() >= 20000) break;
    page.after = p.next;
  }
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, const store::CaseRecord*> by_id;
  for (const auto& k : recs) {
    ids.push_back(k.id);
    by_id[k.id] = &k;
  }
  std::vector<tracing::Link> links;
  for (auto& l : t_->links_of(ids)) {
    // Only links between cases the caller sees.
    if (!by_id.count(l.infector_case_id) || !by_id.count(l.infectee_case_id)) continue;
    links.push_back({l.infector_case_id, l.infectee_case_id});
    out.links.push_back(std::move(l));
  }
  out.clusters = tracing::clusters(ids, links);
  std::map<std::int64_t, std::int64_t> cluster_of;
  for (const auto& cl : out.clusters)
    for (auto id : cl) cluster_of[id] = cl.front();
  auto gen = tracing::generations(ids, links);
  std::vector<std::int64_t> person_ids;
  for (const auto& k : recs) person_ids.push_back(k.person_id);
  std::unordered_map<std::int64_t, std::string> names;
  for (auto& b : t_->briefs(person_ids)) names[b.id] = mask_name(b.name);
  for (const auto& k : recs) {
    ChainNode n;
    n.rec = k;
    n.label = names[k.person_id];
    n.generation = gen.count(k.id) ? gen[k.id] : 1;
    n.cluster = cluster_of[k.id];
    out.nodes.push_back(std::move(n));
  }
  std::vector<double> si;
  for (const auto& l : links) {
    auto a = opt_date(by_id[l.infector]->onset_date), b = opt_date(by_id[l.infectee]->onset_date);
    if (a && b) si.push_back(static_cast<double>((std::chrono::sys_days{*b} - std::chrono::sys_days{*a}).count()));
  }
  out.serial_interval = tracing::summarise(si);
  out.offspring = tracing::offspring(ids, links);
  return out;
}

// ---------------------------------------------------------------- disinfection

store::PageOf<store::DisinfectionRow> Service::disinfections(const std::string& status, const Caller& c, store::Page page) {
  if (!c.can(Permission::venue_disinfect))
    fail(ErrorCode::permission_denied, "disinfection tasks need venue.disinfect", "role");
  if (!status.empty() && status != "open" && status != "done")
    fail(ErrorCode::invalid_argument, "status must be open or done", "status");
  return t_->disinfections(status, c.scope, page);
}

store::DisinfectionRow Service::complete_disinfection(std::int64_t id, const std::string& note, const Caller& c) {
  if (!c.can(Permission::venue_disinfect))
    fail(ErrorCode::permission_denied, "disinfection tasks need venue.disinfect", "role");
  auto out = write([&] {
    auto d = t_->disinfection(id);
    if (!d || !(c.everything() || area_in_scope(c.scope, d->area_code)))
      fail(ErrorCode::not_found, "no such disinfection task: " + std::to_string(id), "id");
    if (d->status == "done") return *d;
    d->status = "done";
    d->done_at = clock_.now();
    d->done_by = c.user_id;
    d->note = note;
    t_->update_disinfection(*d);
    // The venue reopens when its last task is done.
    if (t_->open_disinfections_of_venue(d->venue_id) == 0)
      if (auto v = t_->venue(d->venue_id); v && v->closed_at) {
        v->closed_at.reset();
        v->closed_reason.clear();
        t_->update_venue_tracing(*v);
      }
    audit(c, "disinfection.done", "venue", d->venue_id, note, json{{"task_id", id}, {"case_id", d->case_id}}.dump());
    return *d;
  });
  scans_->forget_venues();  // a reopened venue passes at once
  return out;
}

}  // namespace bihuan::cases
