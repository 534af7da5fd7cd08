#pragma once
// What the scan route hands the server instead of appending the visit itself
// (Response::pending_scan, when Context::can_batch_scans; api/scan_batch.hpp): the decided scan
// and how to answer once its visit is appended.
#include <functional>

#include "api/http_types.hpp"
#include "cases/service.hpp"

namespace bihuan::api {

struct PendingScan {
  cases::ScanDecision decision;
  std::function<Response(const cases::ScanOut&)> answer;
};

}  // namespace bihuan::api
