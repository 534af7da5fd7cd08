#pragma once
// Routes of closed-loop management (docs/API-loop.md): policy profiles, control orders,
// handovers, checks, tests, releases, alerts, quarantine sites and health codes. They use
// Services::loop_profiles / loop_watcher / code_signer (set up by the server).
#include "api/router.hpp"

namespace bihuan::api {

void add_loop_routes(Router& router);
// The loop settings of the deployment, read from the database on first use and kept
// (Services::loop_settings, with serve's handover deadline applied).
std::shared_ptr<const loop::LoopSettings> loop_settings_of(Context& ctx);
// The loaded policy profiles (503 when the server runs without them).
const loop::Profiles& profiles(Context& ctx);

}  // namespace bihuan::api
