#pragma once
// Routes of cutting transmission chains (阻断传播链, docs/API-cases.md): venue scans, cases and
// report cards, contact finding and control, places, links and the chain graph, disinfection.
// They use the closed loop's services (profiles, watcher, code signer).
#include "api/router.hpp"

namespace bihuan::api {

void add_case_routes(Router& router);

}  // namespace bihuan::api
