#pragma once
// Routes of the simulator (docs/API.md "Simulation", docs/SIMULATION.md): the shipped scenarios
// and a comparison of profiles (or the least-disruption search) run as a background job.
#include "api/router.hpp"

namespace bihuan::api {

void add_sim_routes(Router& router);

}  // namespace bihuan::api
