#pragma once
// Routes of imports (docs/API.md "Imports"): POST /api/import/{kind} as a background job,
// import runs and their undo, identity conflicts and their resolution.
#include "api/router.hpp"
#include "core/date.hpp"

namespace bihuan::jobs {
class Runner;
}

namespace bihuan::api {

void add_import_routes(Router& router);

// Import jobs survive a restart: the runner rebuilds their work from the stored parameters and
// file (jobs::Runner::add_kind).
void add_import_job_kinds(jobs::Runner& runner, const Clock* clock);

}  // namespace bihuan::api
