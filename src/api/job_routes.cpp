#include "api/job_routes.hpp"

#include <limits>

#include "api/json_io.hpp"
#include "core/error.hpp"

namespace bihuan::api {

namespace {

json instant_or_null(const std::optional<Instant>& t) { return t ? json(format_instant(*t)) : json(nullptr); }

Response get_job(Request& req, Context& ctx) {
  const std::int64_t id = query_int(req.param("id"), "id", 1, std::numeric_limits<std::int64_t>::max(), 0);
  return Response::json(job_json(visible_job(ctx, id)));
}

Response list_jobs(Request& req, Context& ctx) {
  auto page = store::open_job_repository(ctx.repo)->jobs(ctx.who().user.id, query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& j : page.items) items.push_back(job_json(j));
  return Response::json({{"items", items}, {"next", page.next}});
}

}  // namespace

json job_json(const store::Job& j) {
  json report = nullptr;
  if (!j.report.empty()) report = json::parse(j.report, nullptr, false);
  if (report.is_discarded()) report = nullptr;
  json error = nullptr;
  if (j.status == store::JobStatus::failed) error = {{"message", j.error}, {"field", j.error_field}};
  return {{"id", j.id},
          {"kind", j.kind},
          {"status", store::to_string(j.status)},
          {"progress", j.progress},
          {"report", report},
          {"error", error},
          {"created_at", format_instant(j.created_at)},
          {"started_at", instant_or_null(j.started_at)},
          {"finished_at", instant_or_null(j.finished_at)}};
}

store::Job visible_job(Context& ctx, std::int64_t id) {
  auto j = store::open_job_repository(ctx.repo)->job(id);
  const auto& me = ctx.who().user;
  if (!j || (j->created_by != me.id && me.role != Role::admin))
    fail(ErrorCode::not_found, "no such job: " + std::to_string(id), "id");
  return *j;
}

void add_job_routes(Router& router) {
  router.add(Route{"GET", "/api/jobs", "The caller's background jobs, newest first", {"jobs"},
                   with_paging(),
                   AuthMode::any, std::nullopt, "", list_jobs, Jurisdiction::self});
  router.add(Route{"GET", "/api/jobs/{id}", "One background job: status, progress and report (its creator or an administrator)",
                   {"jobs"}, {pp("id", "job id")}, AuthMode::any, std::nullopt, "", get_job, Jurisdiction::self});
}

}  // namespace bihuan::api
