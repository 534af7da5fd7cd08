#pragma once
// Supply stations, stock and deliveries, and the centre's board (保供, docs/API-supply.md).
#include "api/router.hpp"

namespace bihuan::api {

void add_station_routes(Router& router);

}  // namespace bihuan::api
