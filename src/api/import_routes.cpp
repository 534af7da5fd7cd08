#include "api/import_routes.hpp"

#include <cctype>
#include <limits>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/error.hpp"
#include "ingest/import.hpp"
#include "ingest/report_json.hpp"
#include "jobs/runner.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "registry/service.hpp"
#include "store/held_repository.hpp"
#include "store/import_repository.hpp"
#include "store/job_repository.hpp"

namespace bihuan::api {

namespace {

using P = Permission;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}


store::AuditRecord audit_record(Instant at, std::int64_t user_id, const std::string& username, const std::string& ip,
                                std::string action, std::string entity, std::int64_t entity_id, std::string reason,
                                const json& detail) {
  store::AuditRecord r;
  r.at = at;
  r.user_id = user_id;
  r.username = username;
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = entity_id;
  r.ip = ip;
  r.reason = std::move(reason);
  if (!detail.is_null()) r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t entity_id,
           std::string reason = {}, const json& detail = nullptr) {
  const auto& u = ctx.who().user;
  ctx.audits.push_back(audit_record(ctx.now(), u.id, u.username, req.client_ip, std::move(action), std::move(entity),
                                    entity_id, std::move(reason), detail));
}


jobs::Runner& runner(Context& ctx) {
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  return *ctx.svc.jobs;
}

// ---------------------------------------------------------------- import as a job

// An import job's parameters, kept with the job (store::JobInput) so that it runs again from
// them after a restart.
json import_params(const ingest::ImportOptions& opt, const std::string& encoding, const std::string& username,
                   const std::string& ip) {
  const Scope& sc = opt.scope;
  return {{"kind", ingest::to_string(opt.kind)},
          {"mode", ingest::to_string(opt.mode)},
          {"encoding", encoding},
          {"file_name", opt.file_name},
          {"created_by", opt.created_by},
          {"username", username},
          {"ip", ip},
          {"scope", {{"kind", sc.kind == Scope::Kind::all ? "all" : sc.kind == Scope::Kind::org ? "org" : "area"},
                     {"area", sc.area_prefix},
                     {"org", sc.org_id}}}};
}

ingest::Encoding encoding_from(std::string_view enc) {
  if (enc.empty() || enc == "auto") return ingest::Encoding::auto_detect;
  if (enc == "utf-8" || enc == "utf8") return ingest::Encoding::utf8;
  if (enc == "gb18030" || enc == "gbk") return ingest::Encoding::gb18030;
  fail(ErrorCode::invalid_argument, "encoding must be auto, utf-8 or gb18030", "encoding");
}

// The work of an import job, from its parameters and file (at submission and after a restart).
jobs::Work import_work(const json& params, std::string body, const Clock* clock) {
  ingest::ImportOptions opt;
  if (!ingest::import_kind_from(params.at("kind").get<std::string>(), opt.kind))
    fail(ErrorCode::invalid_argument, "unknown import kind", "kind");
  opt.mode = params.at("mode") == "valid-rows" ? ingest::ImportMode::valid_rows : ingest::ImportMode::all_or_nothing;
  opt.encoding = encoding_from(params.at("encoding").get<std::string>());
  opt.file_name = params.at("file_name").get<std::string>();
  opt.created_by = params.at("created_by").get<std::int64_t>();
  const auto& sc = params.at("scope");
  const std::string sk = sc.at("kind").get<std::string>();
  opt.scope = sk == "all"   ? Scope::everything()
              : sk == "org" ? Scope::org(sc.at("org").get<std::int64_t>())
                            : Scope::area(sc.at("area").get<std::string>());
  const std::string username = params.at("username").get<std::string>(), ip = params.at("ip").get<std::string>();
  return [opt, body = std::move(body), clock, username, ip](jobs::JobContext& jc) mutable -> std::string {
    opt.job_id = jc.job_id;
    opt.today = store::local_time_of(jc.repo).date_of(clock->now());
    opt.progress = [&jc](std::uint64_t done, std::uint64_t total) {
      jc.progress(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
    };
    opt.checkpoint = [&jc] { jc.check_stop(); };
    json detail = {{"job_id", jc.job_id}, {"kind", ingest::to_string(opt.kind)}, {"mode", ingest::to_string(opt.mode)},
                   {"file_name", opt.file_name}, {"bytes", body.size()}};
    try {
      const auto rep = ingest::run_import(jc.repo, body, opt);
      detail["run_id"] = rep.run_id;
      detail["total_rows"] = rep.total_rows;
      detail["accepted"] = rep.accepted;
      detail["rejected"] = rep.rejected;
      detail["conflicts"] = rep.conflicts.size();
      detail["committed"] = rep.committed;
      jc.repo.append_audit(audit_record(clock->now(), opt.created_by, username, ip, "import", "import_run", rep.run_id, {}, detail));
      return ingest::report_json(rep).dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
      detail["error"] = e.what();
      // Stopped by the server: what it wrote is put back and the job runs again at the next start.
      const bool interrupted = jc.stopping();
      try {
        jc.repo.append_audit(audit_record(clock->now(), opt.created_by, username, ip,
                                          interrupted ? "import.interrupted" : "import.failed", "job", jc.job_id, {}, detail));
      } catch (...) {
      }
      throw;
    }
  };
}

Response import_file(Request& req, Context& ctx) {
  ingest::ImportOptions opt;
  if (!ingest::import_kind_from(req.param("kind"), opt.kind))
    fail(ErrorCode::not_found, "unknown import kind: " + std::string(req.param("kind")), "kind");
  auto mode = req.q("mode");
  if (mode.empty() || mode == "all-or-nothing") opt.mode = ingest::ImportMode::all_or_nothing;
  else if (mode == "valid-rows") opt.mode = ingest::ImportMode::valid_rows;
  else fail(ErrorCode::invalid_argument, "mode must be all-or-nothing or valid-rows", "mode");
  const std::string enc(req.q("encoding"));
  opt.encoding = encoding_from(enc);
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the CSV file", "body");
  // Only roles holding `import` reach it (admin, command centre, port health); the importer
  // checks every row against the caller's jurisdiction, and org-scoped roles import persons only.
  if (ctx.who().scope.kind == Scope::Kind::org && opt.kind != ingest::ImportKind::persons)
    fail(ErrorCode::permission_denied, "organisation-scoped roles may import persons only", "kind");
  opt.scope = ctx.who().scope;
  opt.file_name = trim(req.q("file_name")).substr(0, 200);
  const auto& u = ctx.who().user;
  opt.created_by = u.id;
  const std::size_t bytes = req.body.size();
  const std::string kind = ingest::to_string(opt.kind);
  const json params = import_params(opt, enc.empty() ? "auto" : enc, u.username, req.client_ip);
  // The file is kept with the job until it finishes, so that a restart runs it again.
  store::JobInput input{params.dump(), std::move(req.body)};
  auto work = import_work(params, input.data, ctx.svc.clock);
  const std::int64_t id = runner(ctx).submit(ctx.repo, "import." + kind, u.id, std::move(work), &input);
  audit(ctx, req, "import.submit", "job", id, {},
        {{"kind", kind}, {"mode", ingest::to_string(opt.mode)}, {"bytes", bytes}, {"file_name", opt.file_name}});
  return Response::json({{"job_id", id}}, 202);
}

// ---------------------------------------------------------------- runs

// A run its creator or an administrator may see; others get the answer for a missing run.
store::ImportRun visible_run(Context& ctx, std::int64_t id) {
  auto r = store::open_import_repository(ctx.repo)->run(id);
  const auto& me = ctx.who().user;
  if (!r || (r->created_by != me.id && me.role != Role::admin))
    fail(ErrorCode::not_found, "no such import run: " + std::to_string(id), "id");
  return *r;
}

Response list_runs(Request& req, Context& ctx) {
  const auto& me = ctx.who().user;
  auto page = store::open_import_repository(ctx.repo)->runs(me.role == Role::admin ? 0 : me.id,
                                                            query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& r : page.items) items.push_back(ingest::run_json(r));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response get_run(Request& req, Context& ctx) { return Response::json(ingest::run_json(visible_run(ctx, path_id(req)))); }

// The work of an undo job (at submission and after a restart): one transaction that undoes the
// run and appends its `import.undo` record, or leaves everything as it was.
jobs::Work undo_work(const json& params, const Clock* clock) {
  const std::int64_t run_id = params.at("run_id").get<std::int64_t>();
  const std::int64_t by = params.at("by").get<std::int64_t>();
  const std::string username = params.at("username").get<std::string>(), ip = params.at("ip").get<std::string>();
  const std::string reason = params.at("reason").get<std::string>();
  return [run_id, by, username, ip, reason, clock](jobs::JobContext& jc) -> std::string {
    jc.check_stop();
    const Instant at = clock->now();
    auto audit = audit_record(at, by, username, ip, "import.undo", "import_run", run_id, reason, nullptr);
    const auto r = store::open_import_repository(jc.repo)->run(run_id);
    if (r) audit.detail = json{{"job_id", jc.job_id}, {"kind", r->kind}, {"inserted", r->inserted}, {"updated", r->updated}}.dump();
    const auto after = ingest::undo_import_run(jc.repo, run_id, by, at, audit, [&jc](std::int64_t done, std::int64_t total) {
      jc.progress(total > 0 ? 0.99 * static_cast<double>(done) / static_cast<double>(total) : 0.0);
    });
    return ingest::run_json(after).dump(-1, ' ', false, json::error_handler_t::replace);
  };
}

Response undo_run(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = req.body.empty() ? json::object() : parse_object(req.body);
  const std::string reason = trim(opt_string(body, "reason").value_or(""));
  visible_run(ctx, id);
  // The answers that need no job come at once (no such run, not committed, blocked); the job
  // checks again inside its transaction.
  ingest::check_undoable(ctx.repo, id);
  const auto& u = ctx.who().user;
  const json params = {{"run_id", id}, {"by", u.id}, {"username", u.username}, {"ip", req.client_ip}, {"reason", reason}};
  store::JobInput input{params.dump(), {}};
  const std::int64_t job = runner(ctx).submit(ctx.repo, "import.undo", u.id, undo_work(params, ctx.svc.clock), &input);
  return Response::json({{"job_id", job}}, 202);
}

// ---------------------------------------------------------------- identity conflicts

json conflict_json(Context& ctx, const store::IdentityConflict& c, const Person& stored,
                   const std::map<std::int64_t, Instant>& alerted) {
  const auto al = alerted.find(c.id);
  const Date today = ctx.today();
  json fields = json::array();
  for (const auto& f : c.fields) fields.push_back(f);
  const Person& im = c.imported;
  return {{"id", c.id},
          {"run_id", c.run_id},
          {"row", c.row},
          {"source", c.manifest_id != 0 ? "manifest" : "registry"},
          {"manifest_id", c.manifest_id != 0 ? json(c.manifest_id) : json(nullptr)},
          {"seat", c.seat},
          {"fields", fields},
          {"status", c.status},
          {"created_at", format_instant(c.created_at)},
          {"resolved_at", c.resolved_at ? json(format_instant(*c.resolved_at)) : json(nullptr)},
          {"resolved_by", c.resolved_by},
          // A held traveller's alert (notify/held_travellers.hpp), when the conflict stayed open too long.
          {"alerted_at", al != alerted.end() ? json(format_instant(al->second)) : json(nullptr)},
          {"person", person_json(stored, "", false, today)},
          {"imported",
           {{"doc_number", mask_id_number(im.doc_number)},
            {"name", im.name},
            {"sex", to_string(im.sex)},
            {"birth_date", im.birth_date.ok() ? json(format_date(im.birth_date)) : json(nullptr)},
            {"area_code", im.area_code},
            {"address", im.address}}}};
}

Response list_conflicts(Request& req, Context& ctx) {
  const auto status = req.q("status");
  if (!status.empty() && status != "open" && status != "all")
    fail(ErrorCode::invalid_argument, "status must be open or all", "status");
  auto page = registry::Service(ctx.repo, *ctx.svc.clock)
                  .conflicts(status != "all", caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  json ids = json::array();
  std::vector<std::int64_t> conflict_ids;
  for (const auto& c : page.items) conflict_ids.push_back(c.conflict.id);
  const auto alerted = store::open_held_repository(ctx.repo)->alerted(conflict_ids);
  for (const auto& c : page.items) {
    ids.push_back(c.person.id);
    items.push_back(conflict_json(ctx, c.conflict, c.person, alerted));
  }
  audit(ctx, req, "person.conflicts", "person", 0, {}, {{"ids", ids}});
  return Response::json({{"items", items}, {"next", page.next}});
}

Response resolve_conflict(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = parse_object(req.body);
  const std::string action = req_string(body, "action");
  using A = registry::Service::ConflictAction;
  A a = A::keep;
  if (action == "take")
    a = A::take;
  else if (action == "reject")
    a = A::reject;
  else if (action != "keep")
    fail(ErrorCode::invalid_argument, "action must be keep, take or reject", "action");
  const std::string reason = trim(opt_string(body, "reason").value_or(""));
  const Caller who = caller_of(ctx, req);
  // A held traveller of an arrival manifest gets its control order in the resolution's
  // transaction (the loop's policy profiles are needed only then).
  auto admit = [&](const store::IdentityConflict& c) {
    if (!ctx.svc.loop_profiles) fail(ErrorCode::unavailable, "no policy profiles are loaded", "profile");
    loop::Service loop(ctx.repo, *ctx.svc.loop_profiles, *ctx.svc.clock, ctx.svc.loop_watcher, *loop_settings_of(ctx));
    return loop.admit_held_traveller(c, who);
  };
  const auto r = registry::Service(ctx.repo, *ctx.svc.clock).resolve_conflict(id, a, reason, who, admit);
  json out = conflict_json(ctx, r.conflict, r.person, store::open_held_repository(ctx.repo)->alerted({r.conflict.id}));
  out["order_id"] = r.order_id != 0 ? json(r.order_id) : json(nullptr);
  return Response::json(out);
}


}  // namespace

void add_import_job_kinds(jobs::Runner& runner, const Clock* clock) {
  for (auto k : {ingest::ImportKind::persons, ingest::ImportKind::households, ingest::ImportKind::venues,
                 ingest::ImportKind::orgs})
    runner.add_kind(std::string("import.") + ingest::to_string(k), [clock](const store::JobInput& in) {
      return import_work(json::parse(in.params), in.data, clock);
    });
  runner.add_kind("import.undo", [clock](const store::JobInput& in) { return undo_work(json::parse(in.params), clock); });
}

void add_import_routes(Router& router) {
  const auto A = AuthMode::any;
  using J = Jurisdiction;
  auto add = [&](Jurisdiction j, std::string method, std::string pattern, std::string summary,
                 std::vector<ParamDoc> params, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"import"}, std::move(params), A, perm,
                     std::move(body), std::move(h), j});
  };
  // Registered before /api/import/{kind} so that "runs" and "conflicts" are not taken for kinds.
  add(J::self, "GET", "/api/import/runs", "Import runs (the caller's; all for an administrator), newest first", with_paging(),
      P::import_data, "", list_runs);
  add(J::self, "GET", "/api/import/runs/{id}", "One import run: who, file, counts, status", {pp("id", "import run id")},
      P::import_data, "", get_run);
  add(J::self, "POST", "/api/import/runs/{id}/undo",
      "Undo a committed import run as a background job, all or nothing (previous values restored; audited): 202 {job_id}",
      {pp("id", "import run id")}, P::import_data, "application/json", undo_run);
  auto conflict_params = with_paging();
  conflict_params.insert(conflict_params.begin(), qp("status", "open (default) or all"));
  add(J::scoped_list, "GET", "/api/import/conflicts", "Identity conflicts found by imports, in scope", conflict_params,
      P::person_merge, "", list_conflicts);
  add(J::scoped_object, "POST", "/api/import/conflicts/{id}/resolve", "Keep the registered identity or take the imported one (audited)",
      {pp("id", "conflict id")}, P::person_merge, "application/json", resolve_conflict);
  add(J::scoped_create, "POST", "/api/import/{kind}",
      "Import a CSV file (persons, households, venues, orgs) as a background job: 202 {job_id}",
      {pp("kind", "persons | households | venues | orgs", "string"), qp("mode", "all-or-nothing | valid-rows"),
       qp("encoding", "auto | utf-8 | gb18030"), qp("file_name", "the file's name, kept with the import run")},
      P::import_data, "text/csv", import_file);
}

}  // namespace bihuan::api
