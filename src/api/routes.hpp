#pragma once
// Registers every /api route (docs/API.md) on a router.
#include <string>

#include "api/router.hpp"

namespace bihuan::api {

struct RouteOptions {
  std::string version = "0.1.0";
};

void add_api_routes(Router& router, const RouteOptions& opt = {});

// Whether a request is one indexed read that the server runs on the I/O thread instead of
// handing it to a database worker (the hand-over costs more than the work): the lookup of a
// person by document number, GET /api/persons?doc_number=... with no other criterion.
bool is_quick_request(const Request& req);
// POST /api/scan: on a SQLite deployment the server runs it on the I/O thread too, with its visit
// appended together with the other scans of the turn (api/scan_batch.hpp).
bool is_scan_request(const Request& req);

}  // namespace bihuan::api
