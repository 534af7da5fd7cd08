#pragma once
// Registers every /api route (docs/API.md) on a router.
#include <string>

#include "api/router.hpp"

namespace bihuan::api {

struct RouteOptions {
  std::string version = "0.1.0";
};

void add_api_routes(Router& router, const RouteOptions& opt = {});

}  // namespace bihuan::api
