#pragma once
// Residents (居民) and notifications (通知), issue 10 (docs/API-resident.md): a resident's sign-in
// with a one-time code and their own view (/api/resident/...), appeals against a wrong colour
// (赋码纠错) for the grid (/api/appeals/...), and the notification outbox (/api/notify/outbox).
#include "api/router.hpp"

namespace bihuan::api {

void add_resident_routes(Router& router);

// The person signed in as a resident on this request (unauthenticated, 401, without a valid
// resident session; a staff session is not one).
std::int64_t resident_person_of(const Request& req, Context& ctx);

inline constexpr std::string_view kResidentCookie = "bihuan_resident";

}  // namespace bihuan::api
