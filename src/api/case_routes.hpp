#pragma once
// Routes of cutting transmission chains (阻断传播链, docs/API-cases.md): venue scans, cases and
// report cards, contact finding and control, places, links and the chain graph, disinfection.
// They use the closed loop's services (profiles, watcher, code signer).
#include <string>

#include "api/router.hpp"
#include "cases/service.hpp"

namespace bihuan::api {

void add_case_routes(Router& router);

// The answer to a venue scan as JSON: exactly what dumping the nlohmann object would give (keys
// sorted), written directly on the scan's hot path; the nlohmann dump when a text is not UTF-8.
std::string scan_answer_body(const cases::ScanOut& out);

}  // namespace bihuan::api
