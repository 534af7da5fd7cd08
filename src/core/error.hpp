#pragma once
// Typed domain errors. Every failure a caller can cause is one of these kinds; the one table
// below maps each kind onto an HTTP status and a CLI exit code.
#include <stdexcept>
#include <string>
#include <string_view>

namespace bihuan {

enum class ErrorCode {
  invalid_argument,   // malformed or out-of-range input (400)
  not_found,          // no such record visible to the caller (404)
  conflict,           // unique key taken, stale version (409)
  unauthenticated,    // no or bad credentials (401)
  permission_denied,  // authenticated, but the role or scope forbids it (403)
  rate_limited,       // too many attempts (429)
  payload_too_large,  // body over the limit (413)
  unavailable,        // backend down or busy (503)
  internal,           // a bug or an unexpected backend failure (500)
};

// Stable snake_case name, used as `code` in JSON error bodies.
std::string_view error_code_name(ErrorCode code) noexcept;
int http_status(ErrorCode code) noexcept;
// CLI exit codes: 2 for anything the caller got wrong, 3 not found, 4 denied, 1 otherwise.
int exit_code(ErrorCode code) noexcept;

// A domain error: what kind, a message for a person, and the field (or "row 12, column id_number")
// it concerns, empty when it concerns the request as a whole.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::string field = {})
      : std::runtime_error(std::move(message)), code_(code), field_(std::move(field)) {}
  ErrorCode code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

 private:
  ErrorCode code_;
  std::string field_;
};

[[noreturn]] inline void fail(ErrorCode code, std::string message, std::string field = {}) {
  throw Error(code, std::move(message), std::move(field));
}

}  // namespace bihuan
