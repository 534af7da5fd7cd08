#pragma once
// Routes of epidemic analytics (科学研判, docs/API-analytics.md): curves, Rt, nowcast, growth.
#include "api/router.hpp"

namespace bihuan::api {

void add_analytics_routes(Router& router);

}  // namespace bihuan::api
