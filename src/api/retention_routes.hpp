#pragma once
// Routes of data retention (docs/API.md "Retention"): the retention settings and the purge, for
// the administrator (permission retention.manage).
#include "api/router.hpp"

namespace bihuan::api {

void add_retention_routes(Router& router);

}  // namespace bihuan::api
