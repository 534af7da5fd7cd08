#pragma once
// Routes of other cities' risk areas and arrival reports (来返报备, issue 10; docs/API-risk.md):
// the imported list of areas published elsewhere, and reports of residents who came from them,
// whose group and control order follow from the list.
#include "api/router.hpp"

namespace bihuan::api {

void add_arrival_routes(Router& router);

}  // namespace bihuan::api
