#pragma once
// Routes of background jobs: GET /api/jobs and GET /api/jobs/{id} (docs/API.md "Jobs").
#include "api/router.hpp"

namespace bihuan::api {

void add_job_routes(Router& router);

// The JSON of a job (docs/API.md "Jobs"): id, kind, status, progress, report (or null), error.
nlohmann::json job_json(const store::Job& j);

// The job if the caller may see it: its creator, or an administrator. Others are answered
// exactly as for a job that does not exist (404).
store::Job visible_job(Context& ctx, std::int64_t id);

}  // namespace bihuan::api
