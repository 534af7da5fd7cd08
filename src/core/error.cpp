#include "core/error.hpp"

namespace bihuan {

namespace {
struct ErrorRow {
  ErrorCode code;
  std::string_view name;
  int http;
  int exit;
};
constexpr ErrorRow kErrorTable[] = {
    {ErrorCode::invalid_argument, "invalid_argument", 400, 2},
    {ErrorCode::not_found, "not_found", 404, 3},
    {ErrorCode::conflict, "conflict", 409, 2},
    {ErrorCode::unauthenticated, "unauthenticated", 401, 4},
    {ErrorCode::permission_denied, "permission_denied", 403, 4},
    {ErrorCode::rate_limited, "rate_limited", 429, 1},
    {ErrorCode::payload_too_large, "payload_too_large", 413, 2},
    {ErrorCode::unavailable, "unavailable", 503, 1},
    {ErrorCode::internal, "internal", 500, 1},
};
const ErrorRow& row(ErrorCode code) noexcept {
  for (const auto& r : kErrorTable)
    if (r.code == code) return r;
  return kErrorTable[std::size(kErrorTable) - 1];
}
}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept { return row(code).name; }
int http_status(ErrorCode code) noexcept { return row(code).http; }
int exit_code(ErrorCode code) noexcept { return row(code).exit; }

}  // namespace bihuan
