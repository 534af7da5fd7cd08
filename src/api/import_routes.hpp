#pragma once
// Routes of imports (docs/API.md "Imports"): POST /api/import/{kind} as a background job,
// import runs and their undo, identity conflicts and their resolution.
#include "api/router.hpp"

namespace bihuan::api {

void add_import_routes(Router& router);

}  // namespace bihuan::api
