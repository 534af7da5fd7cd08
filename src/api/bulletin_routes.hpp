#pragma once
// The daily bulletin, health-education articles and the public portal's reads:
// /api/bulletins, /api/articles, /api/public/... (docs/API-bulletin.md).
#include "api/router.hpp"

namespace bihuan::api {

void add_bulletin_routes(Router& router);

}  // namespace bihuan::api
