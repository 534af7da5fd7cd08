#include "api/case_routes.hpp"

#include <simdjson.h>

#include "api/pending_scan.hpp"

#include <limits>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "cases/published.hpp"
#include "cases/referral_letters.hpp"
#include "cases/service.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "ingest/csv.hpp"
#include "ingest/lab_results.hpp"
#include "jobs/runner.hpp"
#include "store/audit.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "nat/xlsx.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

const cases::Settings& case_settings(Context& ctx) {
  std::lock_guard lock(ctx.svc.loop_settings_mu);
  if (!ctx.svc.case_settings) ctx.svc.case_settings = std::make_shared<const cases::Settings>(cases::read_settings(ctx.repo));
  return *ctx.svc.case_settings;
}


// The services of one request: the closed loop (contacts go into it) and cases on top of it.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  cases::Service cases;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        cases(ctx.repo, loop, ctx.svc.code_signer, *ctx.svc.clock, case_settings(ctx)) {}
};


json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

std::optional<Instant> parse_time(const std::string& s, const char* field, const LocalTime& local) {
  if (s.empty()) return std::nullopt;
  if (auto t = ingest::parse_lab_time(s, local)) return t;
  fail(ErrorCode::invalid_argument, std::string(field) + " must be ISO 8601 or YYYY-MM-DD HH:MM[:SS]", field);
}

json case_json(const store::CaseRecord& k, const LocalTime& l) {
  return {{"id", k.id},
          {"person_id", k.person_id},
          {"area_code", k.area_code},
          {"source", k.source},
          {"result_id", k.result_id},
          {"tube_id", k.tube_id},
          {"classification", k.classification},
          {"status", k.status},
          {"opened_at", l.format(k.opened_at)},
          {"note", k.note},
          {"severity", k.severity},
          {"origin", k.origin},
          {"vaccination", k.vaccination},
          {"found_by", k.found_by},
          {"occupation", k.occupation},
          {"work_unit", k.work_unit},
          {"current_address", k.current_address},
          {"onset_date", k.onset_date},
          {"death_date", k.death_date},
          {"diagnosed_at", at_json(k.diagnosed_at, l)},
          {"first_positive_at", at_json(k.first_positive_at, l)},
          {"isolated_at", at_json(k.isolated_at, l)},
          {"window_start", at_json(k.window_start, l)},
          {"window_end", at_json(k.window_end, l)},
          {"reported_at", at_json(k.reported_at, l)},
          {"investigation_at", at_json(k.investigation_at, l)},
          {"contacts_listed_at", at_json(k.contacts_listed_at, l)},
          {"contacts_controlled_at", at_json(k.contacts_controlled_at, l)},
          {"rev", k.rev},
          {"origin_place", k.origin_place},
          {"converted_at", at_json(k.converted_at, l)},
          {"closed_at", at_json(k.closed_at, l)},
          {"outcome", k.outcome}};
}

json contact_json(const cases::ContactView& v, const LocalTime& l) {
  json ev = json::parse(v.row.evidence, nullptr, false);
  if (ev.is_discarded()) ev = json::array();
  return {{"id", v.row.id},
          {"case_id", v.row.case_id},
          {"person_id", v.row.person_id},
          {"name", v.name},
          {"area_code", v.area_code},
          {"in_area", v.in_area},
          {"degree", v.row.degree},
          {"via_person_id", v.row.via_person_id},
          {"kinds", v.row.kinds},
          {"evidence", ev},
          {"first_exposure_at", at_json(v.row.first_exposure_at, l)},
          {"last_exposure_at", at_json(v.row.last_exposure_at, l)},
          {"status", v.row.status},
          {"reason", v.row.reason},
          {"decided_at", at_json(v.row.decided_at, l)},
          {"order_id", v.row.order_id},
          {"referral_id", v.row.referral_id}};
}

json link_json(const store::LinkRow& k, const LocalTime& l) {
  return {{"id", k.id},
          {"infector_case_id", k.infector_case_id},
          {"infectee_case_id", k.infectee_case_id},
          {"confidence", k.confidence},
          {"evidence", k.evidence},
          {"created_at", l.format(k.created_at)}};
}

json disinfection_json(const store::DisinfectionRow& d, const LocalTime& l) {
  return {{"id", d.id},
          {"venue_id", d.venue_id},
          {"venue_code", d.venue_code},
          {"venue_name", d.venue_name},
          {"case_id", d.case_id},
          {"area_code", d.area_code},
          {"visited_from", l.format(d.visited_from)},
          {"visited_to", l.format(d.visited_to)},
          {"due_at", l.format(d.due_at)},
          {"close_venue", d.close_venue},
          {"status", d.status},
          {"done_at", at_json(d.done_at, l)},
          {"note", d.note}};
}

template <typename T, typename F>
json page_json(const store::PageOf<T>& p, F&& f) {
  json items = json::array();
  for (const auto& x : p.items) items.push_back(f(x));
  return {{"items", items}, {"next", p.next == 0 ? json(nullptr) : json(p.next)}};
}

// The report card's fields of a body (absent = unchanged; null clears a time).
cases::CaseUpdate update_of(const json& b, const LocalTime& local) {
  cases::CaseUpdate u;
  u.classification = opt_string(b, "classification");
  u.severity = opt_string(b, "severity");
  u.origin = opt_string(b, "origin");
  u.vaccination = opt_string(b, "vaccination");
  u.found_by = opt_string(b, "found_by");
  u.occupation = opt_string(b, "occupation");
  u.work_unit = opt_string(b, "work_unit");
  u.current_address = opt_string(b, "current_address");
  u.onset_date = opt_string(b, "onset_date");
  u.death_date = opt_string(b, "death_date");
  u.note = opt_string(b, "note");
  u.status = opt_string(b, "status");
  u.origin_place = opt_string(b, "origin_place");
  u.outcome = opt_string(b, "outcome");
  auto time = [&](const char* f, std::optional<std::optional<Instant>>& dst) {
    auto it = b.find(f);
    if (it == b.end()) return;
    if (it->is_null()) {
      dst = std::optional<Instant>{};
      return;
    }
    dst = parse_time(opt_string(b, f).value_or(""), f, local);
  };
  time("diagnosed_at", u.diagnosed_at);
  time("first_positive_at", u.first_positive_at);
  time("isolated_at", u.isolated_at);
  u.report = opt_bool(b, "report").value_or(false);
  return u;
}

// ---------------------------------------------------------------- handlers

// {venue, code | doc_number, exit?}: what the door shows.
Response scan_answer(const cases::ScanOut& out) {
  Response r;
  r.body = scan_answer_body(out);
  return r;
}

// The scan's body by simdjson (the door's request, the busiest route): false when it is not an
// object whose fields of a scan have their types; the general reader below then answers why.
// As there, other fields are ignored and a repeated field's last value counts.
bool read_scan_body(std::string_view body, cases::ScanIn& in) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get_object().get(obj)) return false;
  for (auto field : obj) {
    const std::string_view key = field.key;
    const simdjson::dom::element v = field.value;
    auto text = [&](std::string& dst) {
      if (v.is_null()) {
        dst.clear();
        return true;
      }
      std::string_view s;
      if (v.get_string().get(s)) return false;
      dst.assign(s);
      return true;
    };
    if (key == "venue") {
      if (!text(in.venue_code)) return false;
    } else if (key == "code") {
      if (!text(in.code_token)) return false;
    } else if (key == "doc_number") {
      if (!text(in.doc_number)) return false;
    } else if (key == "exit") {
      bool b = false;
      if (!v.is_null() && v.get_bool().get(b)) return false;
      in.exit = b;
    }
  }
  return true;
}

}  // namespace

std::optional<ScanDoor::Decided> ScanDoor::decide(store::Repository& repo, std::string_view body,
                                                  std::string_view cookie, std::string_view authorization,
                                                  const std::string& ip) noexcept {
  try {
    if (repo_ != &repo) {
      cases_.reset();
      loop_.reset();
      repo_ = nullptr;
      Context ctx{repo, svc_, std::nullopt, {}};
      loop_settings_ = loop_settings_of(ctx);
      loop_.emplace(repo, profiles(ctx), *svc_.clock, svc_.loop_watcher, *loop_settings_);
      cases_.emplace(repo, *loop_, svc_.code_signer, *svc_.clock, case_settings(ctx));
      repo_ = &repo;
    }
    // As Router::handle for this route: any authenticated caller with venue.read.
    const Principal& p = svc_.auth.authenticate_kept(repo, cookie, authorization, svc_.clock->now(), kept_);
    if (!p.can(Permission::venue_read)) return std::nullopt;
    in_.venue_code.clear();
    in_.code_token.clear();
    in_.doc_number.clear();
    in_.exit = false;
    if (!read_scan_body(body, in_)) return std::nullopt;
    return Decided{cases_->decide_scan(in_, caller_of(p, ip)), p.user.id};
  } catch (...) {
    return std::nullopt;
  }
}

namespace {

Response scan(Request& req, Context& ctx) {
  cases::ScanIn in;
  if (!read_scan_body(req.body, in)) {
    const json b = parse_object(req.body);
    in = cases::ScanIn{};
    in.venue_code = opt_string(b, "venue").value_or("");
    in.code_token = opt_string(b, "code").value_or("");
    in.doc_number = opt_string(b, "doc_number").value_or("");
    in.exit = opt_bool(b, "exit").value_or(false);
  }
  Svc s(ctx);
  if (!ctx.can_batch_scans) return scan_answer(s.cases.scan(in, caller_of(ctx, req)));
  // The server appends the visit with the other scans of this turn (api/scan_batch.hpp).
  Response r;
  r.pending_scan = std::make_shared<PendingScan>(PendingScan{s.cases.decide_scan(in, caller_of(ctx, req)), scan_answer});
  return r;
}

Response list_cases(Request& req, Context& ctx) {
  Svc s(ctx);
  store::CaseFilter f;
  f.status = std::string(req.q("status"));
  f.classification = std::string(req.q("classification"));
  auto page = s.cases.cases(f, caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::CaseRecord& k) { return case_json(k, ctx.svc.local_time); }));
}

json view_json(const cases::CaseView& v, const LocalTime& l) {
  json j = case_json(v.rec, l);
  j["person"] = {{"name", v.name},   {"doc_number", v.doc_number}, {"sex", v.sex},
                 {"birth_date", v.birth_date}, {"phone", v.phone}, {"address", v.address}};
  json br = json::array();
  for (const auto& x : v.breaches) {
    json alerted = nullptr;
    for (const auto& a : v.breach_alerts)
      if (a.step == x.step) alerted = l.format(a.raised_at);
    br.push_back({{"step", x.step}, {"due", l.format(x.due)}, {"done", at_json(x.done, l)}, {"alerted_at", alerted}});
  }
  j["breaches"] = br;
  return j;
}

Response create_case(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  cases::NewCase n;
  n.person_id = opt_int(b, "person_id").value_or(0);
  n.doc_number = opt_string(b, "doc_number").value_or("");
  n.fields = update_of(b, ctx.svc.local_time);
  Svc s(ctx);
  auto k = s.cases.open_case(n, caller_of(ctx, req));
  return Response::json(case_json(k, ctx.svc.local_time), 201);
}

Response get_case(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(view_json(s.cases.case_view(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

Response update_case(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const auto rev = req_int(b, "rev");
  Svc s(ctx);
  auto k = s.cases.update_case(path_id(req), update_of(b, ctx.svc.local_time), rev, caller_of(ctx, req));
  return Response::json(case_json(k, ctx.svc.local_time));
}

Response trace(Request& req, Context& ctx) {
  Svc s(ctx);
  auto rep = s.cases.find_contacts(path_id(req), caller_of(ctx, req));
  const auto& l = ctx.svc.local_time;
  return Response::json({{"candidates", rep.candidates},
                         {"added", rep.added},
                         {"venues", rep.venues},
                         {"disinfection_tasks", rep.disinfection_tasks},
                         {"window_start", rep.window ? json(l.format(rep.window->start)) : json(nullptr)},
                         {"window_end", rep.window ? json(l.format(rep.window->end)) : json(nullptr)}});
}

Response list_contacts(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& v : s.cases.contacts(path_id(req), caller_of(ctx, req))) items.push_back(contact_json(v, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

// {person_id | doc_number, note}: a contact the investigator names (accepted at once).
Response add_contact(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  auto v = s.cases.add_contact(path_id(req), opt_int(b, "person_id").value_or(0), opt_string(b, "doc_number").value_or(""),
                               opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json(contact_json(v, ctx.svc.local_time), 201);
}

Response decide_contact(Request& req, Context& ctx, bool accept) {
  const json b = parse_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  Svc s(ctx);
  auto v = s.cases.decide(path_id(req), accept, opt_string(b, "reason").value_or(""), caller_of(ctx, req));
  return Response::json(contact_json(v, ctx.svc.local_time));
}

Response control(Request& req, Context& ctx) {
  Svc s(ctx);
  auto rep = s.cases.control(path_id(req), caller_of(ctx, req));
  return Response::json(
      {{"orders", rep.orders}, {"referrals", rep.referrals}, {"already", rep.already}, {"errors", rep.errors}});
}

json place_json(const store::PlaceRow& p, const LocalTime& l) {
  return {{"id", p.id},         {"case_id", p.case_id},        {"venue_id", p.venue_id},
          {"description", p.description}, {"area_code", p.area_code}, {"from", l.format(p.from_at)},
          {"to", l.format(p.to_at)}, {"added_at", l.format(p.added_at)}};
}

Response list_places(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& p : s.cases.places(path_id(req), caller_of(ctx, req))) items.push_back(place_json(p, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response add_place(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const auto& l = ctx.svc.local_time;
  auto from = parse_time(req_string(b, "from"), "from", l);
  auto to = parse_time(req_string(b, "to"), "to", l);
  Svc s(ctx);
  auto p = s.cases.add_place(path_id(req), opt_string(b, "venue").value_or(""), opt_string(b, "description").value_or(""),
                             *from, *to, caller_of(ctx, req));
  return Response::json(place_json(p, l), 201);
}

Response create_link(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  auto k = s.cases.link(req_int(b, "infector_case_id"), req_int(b, "infectee_case_id"),
                        opt_string(b, "confidence").value_or("probable"), opt_string(b, "evidence").value_or(""),
                        caller_of(ctx, req));
  return Response::json(link_json(k, ctx.svc.local_time), 201);
}

Response delete_link(Request& req, Context& ctx) {
  Svc s(ctx);
  s.cases.unlink(path_id(req), caller_of(ctx, req));
  return Response::json({{"deleted", true}});
}

Response chains(Request& req, Context& ctx) {
  Svc s(ctx);
  auto v = s.cases.chains(caller_of(ctx, req));
  const auto& l = ctx.svc.local_time;
  json nodes = json::array(), links = json::array(), clusters = json::array(), offspring = json::array();
  for (const auto& n : v.nodes)
    nodes.push_back({{"id", n.rec.id},
                     {"label", n.label},
                     {"classification", n.rec.classification},
                     {"onset_date", n.rec.onset_date},
                     {"area_code", n.rec.area_code},
                     {"generation", n.generation},
                     {"cluster", n.cluster},
                     {"status", n.rec.status}});
  for (const auto& k : v.links) links.push_back(link_json(k, l));
  for (const auto& c : v.clusters)
    if (c.size() > 1) clusters.push_back(c);
  for (const auto& [k, n] : v.offspring) offspring.push_back({{"infected", k}, {"cases", n}});
  const auto& si = v.serial_interval;
  return Response::json({{"nodes", nodes},
                         {"links", links},
                         {"clusters", clusters},
                         {"serial_interval",
                          {{"pairs", si.n}, {"mean_days", si.mean}, {"sd_days", si.sd}, {"median_days", si.median},
                           {"negative_share", si.negative_share}}},
                         {"offspring", offspring}});
}

Response import_chains(Request& req, Context& ctx) {
  // The file is checked here (a fault answers 400 with its lines and fields, nothing queued);
  // the job writes it in one transaction and checks the caller's area inside it.
  const std::string area(req.q("area"));
  if (area.empty()) fail(ErrorCode::invalid_argument, "area is required (the area the cases are registered in)", "area");
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the chains CSV", "body");
  auto chains = cases::parse_published(req.q("format").empty() ? "du2020" : req.q("format"), req.body);
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  const Caller who = caller_of(ctx, req);
  if (!who.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "importing chains needs case.investigate", "role");
  // An area outside the caller's answers like an unknown one, before anything is queued (the
  // job checks it again inside its transaction).
  if (!ctx.repo.area(area) || !(who.everything() || area_in_scope(who.scope, area)))
    fail(ErrorCode::not_found, "no such area: " + area, "area");
  Services& svc = ctx.svc;
  const std::int64_t n_cases = static_cast<std::int64_t>(chains.cases.size()),
                     n_links = static_cast<std::int64_t>(chains.links.size());
  const std::string dataset = chains.dataset;
  auto work = [&svc, who, area, chains = std::move(chains)](jobs::JobContext& jc) -> std::string {
    auto rep = cases::import_published(jc.repo, chains, area, who, svc.clock->now(), [&jc](double f) { jc.progress(f); });
    const auto& si = rep.serial_interval;
    return json{{"dataset", chains.dataset},
                {"area", area},
                {"persons", rep.persons},
                {"cases", rep.cases},
                {"links", rep.links},
                {"clusters", rep.clusters},
                {"serial_interval",
                 {{"pairs", si.n}, {"mean_days", si.mean}, {"sd_days", si.sd}, {"median_days", si.median},
                  {"negative_share", si.negative_share}}}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const std::int64_t id = ctx.svc.jobs->submit(ctx.repo, "chains.import", who.user_id, std::move(work));
  ctx.audits.push_back(store::audit_of(who, ctx.now(), "case.import_chains_submit", "job", id, {},
                                       json{{"dataset", dataset}, {"area", area}, {"cases", n_cases}, {"links", n_links}}.dump()));
  return Response::json({{"job_id", id}, {"cases", n_cases}, {"links", n_links}}, 202);
}

Response list_disinfections(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.cases.disinfections(std::string(req.q("status")), caller_of(ctx, req),
                                    query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::DisinfectionRow& d) { return disinfection_json(d, ctx.svc.local_time); }));
}

Response complete_disinfection(Request& req, Context& ctx) {
  const json b = parse_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  Svc s(ctx);
  auto d = s.cases.complete_disinfection(path_id(req), opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json(disinfection_json(d, ctx.svc.local_time));
}

// ---------------------------------------------------------------- referral letters (跨地区协查函)

json letter_json(const cases::LetterView& v, const LocalTime& l) {
  const auto& r = v.row;
  json persons = json::array();
  for (const auto& p : v.persons)
    persons.push_back({{"index", p.row.idx},
                       {"name", p.name},
                       {"doc_number", p.doc_number},
                       {"area_code", p.area_code},
                       {"group", p.group},
                       {"kinds", p.kinds},
                       {"first_exposure_at", at_json(p.first_exposure_at, l)},
                       {"last_exposure_at", at_json(p.last_exposure_at, l)},
                       {"contact_id", p.row.contact_id},
                       {"person_id", p.row.person_id},
                       {"outcome", p.row.outcome},
                       {"order_id", p.row.order_id},
                       {"order_ref", p.row.order_ref},
                       {"note", p.row.note}});
  json j = {{"id", r.id},
            {"direction", r.direction},
            {"document_id", r.document_id},
            {"case_id", r.case_id},
            {"area_code", r.area_code},
            {"region", r.region},
            {"peer", r.peer},
            {"status", r.status},
            {"note", r.note},
            {"created_at", l.format(r.created_at)},
            {"settled_at", at_json(r.settled_at, l)},
            {"decision_note", r.decision_note},
            {"person_count", v.person_count},
            {"under_control", v.under_control}};
  if (!v.persons.empty()) {
    j["persons"] = persons;
    j["sender_name"] = v.sender_name;
    j["case_classification"] = v.case_classification;
    j["case_onset_date"] = v.case_onset_date;
  }
  // The acknowledgement carries no personal data: the receiver downloads it again from here.
  if (!r.ack.empty() && r.direction == "in") j["ack"] = r.ack;
  return j;
}

struct LetterSvc : Svc {
  cases::Referrals letters;
  explicit LetterSvc(Context& ctx) : Svc(ctx), letters(ctx.repo, loop, ctx.svc.code_signer, *ctx.svc.clock) {}
};

// {to_region, contact_ids?, note?}: the signed letter for the other deployment, and its view.
Response send_letter(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  std::vector<std::int64_t> ids;
  if (auto it = b.find("contact_ids"); it != b.end() && !it->is_null()) {
    if (!it->is_array()) fail(ErrorCode::invalid_argument, "contact_ids must be a list of contact ids", "contact_ids");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& v = (*it)[i];
      if (!v.is_number_integer())
        fail(ErrorCode::invalid_argument, "contact_ids[" + std::to_string(i) + "] must be an integer",
             "contact_ids[" + std::to_string(i) + "]");
      ids.push_back(v.get<std::int64_t>());
    }
  }
  LetterSvc s(ctx);
  auto out = s.letters.send(path_id(req), req_string(b, "to_region"), ids, opt_string(b, "note").value_or(""),
                            caller_of(ctx, req));
  return Response::json({{"letter", letter_json(out.view, ctx.svc.local_time)}, {"document", out.document}}, 201);
}

Response list_letters(Request& req, Context& ctx) {
  const std::string dir = req.q("direction").empty() ? "out" : std::string(req.q("direction"));
  if (dir != "in" && dir != "out") fail(ErrorCode::invalid_argument, "direction must be in or out", "direction");
  const int limit = static_cast<int>(query_int(req.q("limit"), "limit", 1, 1000, 200));
  LetterSvc s(ctx);
  json items = json::array();
  for (const auto& v : s.letters.letters(dir == "in", caller_of(ctx, req), limit))
    items.push_back(letter_json(v, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response get_letter(Request& req, Context& ctx) {
  LetterSvc s(ctx);
  return Response::json(letter_json(s.letters.letter(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

Response letter_document(Request& req, Context& ctx) {
  LetterSvc s(ctx);
  Response r;
  r.body = s.letters.document(path_id(req), caller_of(ctx, req));
  r.content_type = "application/json";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"referral-letter-" + std::to_string(path_id(req)) + ".json\"");
  return r;
}

// The body is the signed letter exactly as received.
Response import_letter(Request& req, Context& ctx) {
  LetterSvc s(ctx);
  return Response::json(letter_json(s.letters.import(req.body, caller_of(ctx, req)), ctx.svc.local_time), 201);
}

Response decide_letter(Request& req, Context& ctx, bool accept) {
  const json b = parse_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  LetterSvc s(ctx);
  auto out = s.letters.decide(path_id(req), accept, opt_string(b, "owner_area").value_or(""),
                              opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json({{"letter", letter_json(out.view, ctx.svc.local_time)}, {"ack", out.ack}});
}

// The body is the receiver's signed acknowledgement.
Response letter_ack(Request& req, Context& ctx) {
  LetterSvc s(ctx);
  return Response::json(letter_json(s.letters.take_ack(req.body, caller_of(ctx, req)), ctx.svc.local_time));
}

// The report cards (传染病报告卡) of the caller's cases, in the national card's column order, for
// the direct-reporting system (网络直报), as CSV or Excel. Unmasked: person.unmask, audited per card.
Response report_cards(Request& req, Context& ctx, bool xlsx) {
  const Caller c = caller_of(ctx, req);
  if (!c.can(P::person_unmask)) fail(ErrorCode::permission_denied, "report cards carry full identities: person.unmask", "role");
  Svc s(ctx);
  store::CaseFilter f;
  f.status = std::string(req.q("status"));
  const auto& l = ctx.svc.local_time;
  const std::vector<std::string> header = {"卡片编号", "患者姓名", "有效证件号", "性别", "出生日期", "工作单位", "联系电话",
                                           "病人属于", "现住地址", "人群分类", "病例分类", "临床严重程度", "发病日期", "诊断时间",
                                           "死亡日期", "疾病名称", "输入/本土", "疫苗接种", "发现途径", "报告时间", "报告超时"};
  std::vector<std::vector<std::string>> rows;
  store::Page page{0, 1000};
  const auto rules = tracing::rules_of(profiles(ctx).get(s.loop.active_profile()));
  for (;;) {
    auto p = s.cases.cases(f, c, page);
    for (const auto& k : p.items) {
      auto person = ctx.repo.person(k.person_id, Scope::everything());
      if (!person) continue;
      const auto cls = tracing::classification_from(k.classification);
      const auto sev = tracing::severity_from(k.severity);
      const auto found = tracing::found_by_from(k.found_by);
      bool late = false;
      if (k.diagnosed_at) {
        const auto due = *k.diagnosed_at + std::chrono::hours{rules.report_hours};
        late = k.reported_at ? *k.reported_at > due : ctx.now() > due;
      }
      rows.push_back({std::to_string(k.id), person->name, person->doc_number,
                      person->sex == Sex::male ? "男" : person->sex == Sex::female ? "女" : "",
                      person->birth_date.ok() ? format_date(person->birth_date) : "", k.work_unit, person->phone,
                      person->doc_type == DocType::resident_id ? "本县区" : "外籍",
                      k.current_address.empty() ? person->address : k.current_address, k.occupation,
                      cls ? tracing::label_zh(*cls) : "", sev ? tracing::label_zh(*sev) : "", k.onset_date,
                      k.diagnosed_at ? l.format(*k.diagnosed_at) : "", k.death_date, "新型冠状病毒感染",
                      k.origin == "imported" ? "输入" : "本土", k.vaccination, found ? tracing::label_zh(*found) : "",
                      k.reported_at ? l.format(*k.reported_at) : "", late ? "是" : "否"});
      store::AuditRecord a;
      a.at = ctx.now();
      a.user_id = c.user_id;
      a.username = c.username;
      a.action = "person.unmask";
      a.entity = "person";
      a.entity_id = person->id;
      a.reason = "report card of case " + std::to_string(k.id);
      ctx.audits.push_back(std::move(a));
    }
    if (!p.next) break;
    page.after = p.next;
  }
  Response r;
  if (xlsx) {
    r.body = nat::table_xlsx("传染病报告卡", "传染病报告卡 导出时间 " + l.format(ctx.now()), header, rows);
    r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"report-cards.xlsx\"");
    return r;
  }
  ingest::CsvWriter w;
  for (const auto& h : header) w.text(h);
  w.end_row();
  for (const auto& row : rows) {
    for (const auto& cell : row) w.text(cell);
    w.end_row();
  }
  r.body = w.take();
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"report-cards.csv\"");
  return r;
}

}  // namespace

std::string scan_answer_body(const cases::ScanOut& out) {
  std::string b;
  b.reserve(160 + out.masked_name.size() + out.venue_name.size());
  bool ok = true;
  b += "{\"colour\":";
  ok &= append_json_string(b, out.colour);
  b += out.duplicate ? ",\"duplicate\":true" : ",\"duplicate\":false";
  b += out.exit ? ",\"exit\":true" : ",\"exit\":false";
  b += ",\"name\":";
  ok &= append_json_string(b, out.masked_name);
  b += ",\"reason\":";
  ok &= append_json_string(b, out.reason);
  b += out.pass ? ",\"result\":\"pass\"" : ",\"result\":\"stop\"";
  b += ",\"scan_id\":";
  b += std::to_string(out.scan_id);
  b += ",\"venue\":";
  ok &= append_json_string(b, out.venue_code);
  b += ",\"venue_name\":";
  ok &= append_json_string(b, out.venue_name);
  b += '}';
  if (ok) return b;
  return json({{"result", out.pass ? "pass" : "stop"},
               {"colour", out.colour},
               {"name", out.masked_name},
               {"venue", out.venue_code},
               {"venue_name", out.venue_name},
               {"scan_id", out.scan_id},
               {"duplicate", out.duplicate},
               {"exit", out.exit},
               {"reason", out.reason}})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

void add_case_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"tracing"}, std::move(params), A::any,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");

  add(J::scoped_create, "POST", std::string(kScanRoute),
      "A visitor scans the venue code (场所码): pass or stop, the colour and the masked name; the visit is logged",
      {}, P::venue_read, js, scan);
  add(J::scoped_list, "GET", "/api/cases", "Cases (病例) registered in the caller's area",
      with_paging({qp("status", "open or closed"), qp("classification", "suspected, clinical, confirmed, asymptomatic")}),
      P::case_investigate, "", list_cases);
  add(J::scoped_create, "POST", "/api/cases", "Open a case by hand with its report card's fields", {}, P::case_investigate, js,
      create_case);
  add(J::scoped_list, "GET", "/api/cases/report-cards.csv",
      "The report cards (传染病报告卡) in the national card's columns, for direct reporting (unmasked, audited)",
      {qp("status", "open or closed")}, P::person_unmask, "", [](Request& r, Context& c) { return report_cards(r, c, false); });
  add(J::scoped_list, "GET", "/api/cases/report-cards.xlsx", "The report cards as an Excel workbook (unmasked, audited)",
      {qp("status", "open or closed")}, P::person_unmask, "", [](Request& r, Context& c) { return report_cards(r, c, true); });
  add(J::scoped_object, "GET", "/api/cases/{id}", "One case with its person and timeliness breaches", {id},
      P::case_investigate, "", get_case);
  add(J::scoped_object, "PUT", "/api/cases/{id}", "Fill in the report card (with rev); report: true marks it reported",
      {id}, P::case_investigate, js, update_case);
  add(J::scoped_object, "POST", "/api/cases/{id}/trace",
      "Find the contacts (流调): household, workplace, fellow passengers, overlapping venue visits", {id},
      P::case_investigate, js, trace);
  add(J::scoped_object, "GET", "/api/cases/{id}/contacts", "The case's contacts with their evidence", {id},
      P::case_investigate, "", list_contacts);
  add(J::scoped_object, "POST", "/api/cases/{id}/contacts", "Add a contact by hand (accepted)", {id}, P::case_investigate, js,
      add_contact);
  add(J::scoped_object, "POST", "/api/cases/{id}/control",
      "Put every accepted contact under control in one action (orders, or referrals outside the area)", {id},
      P::case_investigate, js, control);
  add(J::scoped_object, "GET", "/api/cases/{id}/places", "Places the investigator added", {id}, P::case_investigate, "",
      list_places);
  add(J::scoped_object, "POST", "/api/cases/{id}/places", "Add a place of the case (a venue code or a description)", {id},
      P::case_investigate, js, add_place);
  add(J::scoped_object, "POST", "/api/contacts/{id}/accept", "Accept a candidate contact", {id}, P::case_investigate, js,
      [](Request& r, Context& c) { return decide_contact(r, c, true); });
  add(J::scoped_object, "POST", "/api/contacts/{id}/reject", "Reject a candidate contact (a reason is required)", {id},
      P::case_investigate, js, [](Request& r, Context& c) { return decide_contact(r, c, false); });
  add(J::scoped_create, "POST", "/api/links", "Link an infector case to an infectee case (no cycles)", {}, P::case_investigate,
      js, create_link);
  add(J::scoped_object, "POST", "/api/links/{id}/delete", "Remove a link", {id}, P::case_investigate, js, delete_link);
  add(J::scoped_create, "POST", "/api/chains/import",
      "Load published infector -> infectee pairs (format du2020 or pairs) as cases and links of an area: a job (202 "
      "{job_id}); all or nothing, faults name their lines and fields",
      {qp("format", "du2020 (Du et al. 2020 Table S5, default) or pairs"), qp("area", "area code the cases are registered in")},
      P::case_investigate, "text/csv", import_chains);
  add(J::scoped_list, "GET", "/api/chains",
      "The transmission-chain graph of the caller's cases: nodes, links, clusters, serial interval, offspring", {},
      P::case_investigate, "", chains);
  add(J::scoped_object, "POST", "/api/cases/{id}/referral-letters",
      "Write contacts living in another deployment's region into a signed referral letter (协查函) {to_region, "
      "contact_ids?, note?}: 201 {letter, document}",
      {id}, P::case_investigate, js, send_letter);
  add(J::scoped_list, "GET", "/api/referral-letters",
      "Referral letters sent for the caller's cases (direction=out) or addressed to its area (direction=in)",
      {qp("direction", "out (default) or in"), qp("limit", "at most this many", "integer")}, P::case_investigate, "",
      list_letters);
  add(J::transfer, "POST", "/api/referral-letters/import",
      "Import another deployment's signed referral letter (trusted senders only); nothing enters the loop yet", {},
      P::loop_write, js, import_letter);
  add(J::scoped_create, "POST", "/api/referral-letters/ack",
      "Import the receiver's signed acknowledgement of a letter sent from here: each person's outcome", {},
      P::case_investigate, js, letter_ack);
  add(J::scoped_object, "GET", "/api/referral-letters/{id}", "One referral letter with its persons (masked, audited)",
      {id}, P::case_investigate, "", get_letter);
  add(J::scoped_object, "GET", "/api/referral-letters/{id}/document",
      "The signed letter itself (full identities: person.unmask, audited)", {id}, P::person_unmask, "",
      letter_document);
  add(J::scoped_object, "POST", "/api/referral-letters/{id}/accept",
      "Accept a letter in one action: everyone registered and under control here {owner_area?, note?}; answers the "
      "signed acknowledgement",
      {id}, P::loop_write, js, [](Request& r, Context& c) { return decide_letter(r, c, true); });
  add(J::scoped_object, "POST", "/api/referral-letters/{id}/decline",
      "Decline a letter (note required); answers the signed acknowledgement", {id}, P::loop_write, js,
      [](Request& r, Context& c) { return decide_letter(r, c, false); });
  add(J::scoped_list, "GET", "/api/disinfections", "Disinfection tasks (场所消杀) of venues in the caller's area",
      with_paging({qp("status", "open or done")}), P::venue_disinfect, "", list_disinfections);
  add(J::scoped_object, "POST", "/api/disinfections/{id}/done", "Record a disinfection as done (the venue reopens)", {id},
      P::venue_disinfect, js, complete_disinfection);
}

}  // namespace bihuan::api
