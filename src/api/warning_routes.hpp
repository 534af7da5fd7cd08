#pragma once
// Routes of early warning (多点触发: feeds, series, rules, signals), vaccination (import,
// coverage, the people of 60 and over not fully vaccinated), capacity (rooms and beds, used and
// forecast) and the district map (docs/API-warning.md).
#include "api/router.hpp"

namespace bihuan::api {

void add_warning_routes(Router& router);

}  // namespace bihuan::api
