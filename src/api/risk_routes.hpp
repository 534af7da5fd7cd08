#pragma once
// Routes of risk areas (高/中/低风险区, docs/API-risk.md): the current areas and their history,
// proposals from the profile's rules, approval and rejection, manual designation, lifting, and
// the public list of published areas (no login, nothing personal).
#include "api/router.hpp"

namespace bihuan::api {

void add_risk_routes(Router& router);

}  // namespace bihuan::api
