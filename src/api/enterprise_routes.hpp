#pragma once
// Work resumption (复工复产, docs/API-enterprise.md): enterprises, their import, prevention plans
// and their decisions, staff compliance and the enterprise account's view of its staff.
#include "api/router.hpp"

namespace bihuan::api {

void add_enterprise_routes(Router& router);

}  // namespace bihuan::api
