#pragma once
// Routes of nucleic-acid testing (核酸检测, docs/API-testing.md): sampling points, rounds and
// coverage, tubes and sampling, boxes, lab results, conflicts, tasks, antigen self-tests, testing
// alerts and cases. They use the closed loop's services (profiles, watcher, code signer).
#include "api/router.hpp"

namespace bihuan::nat {
struct Settings;
}

namespace bihuan::api {

void add_nat_routes(Router& router);
// The testing settings of the deployment, read on first use and kept (Services::nat_settings).
const nat::Settings& nat_settings(Context& ctx);
// Results files run as resumable jobs (kind "nat.results"); call before the runner starts, after
// the loop's services (profiles, watcher, signer) are set up.
void add_nat_job_kinds(jobs::Runner& runner, const Services& svc);

}  // namespace bihuan::api
