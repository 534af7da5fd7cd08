#pragma once
// Emergency response (应急响应): /api/response/... (docs/API-response.md).
#include "api/router.hpp"

namespace bihuan::api {

void add_response_routes(Router& router);

}  // namespace bihuan::api
