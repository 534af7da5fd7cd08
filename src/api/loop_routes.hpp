#pragma once
// Routes of closed-loop management (docs/API-loop.md): policy profiles, control orders,
// handovers, checks, tests, releases, alerts, quarantine sites and health codes. They use
// Services::loop_profiles / loop_watcher / code_signer (set up by the server).
#include "api/router.hpp"

namespace bihuan::api {

void add_loop_routes(Router& router);

}  // namespace bihuan::api
