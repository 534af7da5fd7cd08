#pragma once
// Routes of data retention (docs/API.md "Retention"): the retention settings and the purge, for
// the administrator (permission retention.manage).
#include "api/router.hpp"
#include "jobs/runner.hpp"
#include "store/retention.hpp"

namespace bihuan::api {

void add_retention_routes(Router& router);

// The work of a purge job (POST /api/admin/purge and the daily purge of `serve`): reads the
// settings, purges at clock.now(), reports progress; the report is the purge's JSON.
jobs::Work purge_job(store::PurgeOptions o, const Clock& clock);

}  // namespace bihuan::api
