#pragma once
// Routes of the needs of people who cannot go out (保供, docs/API-supply.md "Needs, requests and
// medical trips"): controlled households and their needs records, vulnerable people, requests,
// medical trips through the closed loop.
#include "api/router.hpp"

namespace bihuan::api {

void add_needs_routes(Router& router);

}  // namespace bihuan::api
