#pragma once
// Routes of the treatment of cases (病例救治, docs/API-cases.md "Treatment"): admission to a
// designated or shelter hospital through the closed loop, the discharge check on the profile's
// Ct rule, discharge into post-discharge home health monitoring, and re-positive records.
#include "api/router.hpp"

namespace bihuan::api {

void add_treatment_routes(Router& router);

}  // namespace bihuan::api
