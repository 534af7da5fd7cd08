#pragma once
// The route table: method + path pattern ("/api/persons/{id}") -> handler, with the metadata
// the OpenAPI document is built from. Router::handle authenticates, checks the permission,
// runs the handler and maps every exception onto the JSON error body; it never throws.
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.hpp"
#include "api/http_types.hpp"
#include "api/public_cache.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/job_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Profiles;
class Watcher;
class CodeSigner;
struct LoopSettings;
}  // namespace bihuan::loop
namespace bihuan::jobs {
class Runner;
}  // namespace bihuan::jobs
namespace bihuan::nat {
struct Settings;
}  // namespace bihuan::nat
namespace bihuan::cases {
struct Settings;
}  // namespace bihuan::cases
namespace bihuan::response {
class Library;
}  // namespace bihuan::response

namespace bihuan::api {

// State shared by every request (thread-safe parts only).
struct Services {
  const Clock* clock = nullptr;
  Authenticator auth;
  // Area name cache: code -> name (areas change only through offline imports).
  std::mutex area_mu;
  std::unordered_map<std::string, std::string> area_names;
  // Closed-loop management (loop_routes.cpp), set up by the server; null = not available.
  const loop::Profiles* loop_profiles = nullptr;
  loop::Watcher* loop_watcher = nullptr;
  loop::CodeSigner* code_signer = nullptr;
  // serve --handover-deadline-minutes: every acknowledgement deadline (unset = per stage).
  std::optional<std::chrono::minutes> handover_deadline;
  // Background jobs (imports), set up by the server; null = not available (routes answer 503).
  jobs::Runner* jobs = nullptr;
  // The deployment's local time (setting deployment.time_zone, read when the server starts).
  LocalTime local_time;
  // The loop settings (settings table, with handover_deadline applied), read from the database
  // on the first loop request and kept, like the watcher's: a change applies at the next start.
  std::mutex loop_settings_mu;
  std::shared_ptr<const loop::LoopSettings> loop_settings;
  // Testing settings (nat_routes.cpp), read on the first testing request, guarded by loop_settings_mu.
  std::shared_ptr<const nat::Settings> nat_settings;
  // Tracing settings (case_routes.cpp), read on the first tracing request, guarded likewise.
  std::shared_ptr<const cases::Settings> case_settings;
  // Emergency-response playbooks and levels (response_routes.cpp), loaded by the server from the
  // playbooks directory; null = not available (the routes answer 503).
  const response::Library* response_library = nullptr;
  // Residents (resident_routes.cpp): code requests and failed sign-ins per client address.
  LoginLimiter resident_limiter{20, std::chrono::minutes(15)};
  // The notification gateway's URL (serve --notify-gateway; "" = none: messages stay queued).
  std::string notify_gateway;
  // The public portal's answers kept in memory (bulletin_routes.cpp); bumped when a bulletin,
  // article or risk area is published.
  PublicCache public_cache;
};

struct Context;
using Handler = std::function<Response(Request&, Context&)>;

// CPU-bound work (password hashing) that must not occupy a database worker, and the rest of the
// handler, which runs on a database worker again once `cpu` has finished (see Context::offload).
struct Deferred {
  std::function<void()> cpu;
  Handler rest;
};

// What a handler gets besides the request: the worker's repository, the shared services and
// (for authenticated routes) the caller.
struct Context {
  store::Repository& repo;
  Services& svc;
  std::optional<Principal> principal;
  // Audit records of this request. The server commits them (group commit) before it sends the
  // answer; a request whose records cannot be committed is answered 503 instead.
  std::vector<store::AuditRecord> audits;

  Instant now() const { return svc.clock->now(); }
  // The deployment's local date now.
  Date today() const { return svc.local_time.date_of(now()); }
  const Principal& who() const { return *principal; }

  // Runs `cpu` off the database workers (the server's password-hashing pool), then `rest` on a
  // database worker with a fresh Context carrying the same caller; its answer is the request's.
  // An exception from `cpu` is answered as if `rest` had thrown it. Outside the server (tests,
  // in-process callers) both run inline, so the result is the same.
  Response offload(Request& req, std::function<void()> cpu, Handler rest);
  bool can_defer = false;  // set by the server
  // Set by the server on an I/O thread of a SQLite deployment: POST /api/scan answers with
  // Response::pending_scan, and the server appends the visit with the other scans of the turn.
  bool can_batch_scans = false;
};

enum class AuthMode { none, any, session };

struct ParamDoc {
  std::string name;
  std::string in = "query";  // "query" or "path"
  std::string description;
  bool required = false;
  std::string type = "string";  // "string", "integer"
};

// Route-table helpers shared by the route files: a query parameter, a required path parameter,
// and a parameter list with the paging parameters (limit, after) appended.
inline ParamDoc qp(std::string name, std::string description, std::string type = "string", bool required = false) {
  return ParamDoc{std::move(name), "query", std::move(description), required, std::move(type)};
}
inline ParamDoc pp(std::string name, std::string description, std::string type = "integer") {
  return ParamDoc{std::move(name), "path", std::move(description), true, std::move(type)};
}
inline std::vector<ParamDoc> with_paging(std::vector<ParamDoc> ps = {}) {
  ps.push_back(qp("limit", "page size 1..1000 (default 50)", "integer"));
  ps.push_back(qp("after", "the previous page's next", "integer"));
  return ps;
}

// How a route is confined to the caller's jurisdiction (docs/SECURITY.md). Every route declares
// one; the route x role x scope test (tests/api/scope_matrix_test.cpp) fails for a route that
// does not, and checks each kind against objects inside and outside the caller's scope.
enum class Jurisdiction {
  unset,          // not declared (a test failure)
  open,           // no caller or no personal data: health, login, OpenAPI, code verification
  self,           // the caller's own session and account
  catalogue,      // the same for every caller, no personal data (roles, policy profiles)
  system,         // the whole deployment (users, policy switching): role-checked, not scoped
  audit_log,      // the audit log (auditor, admin)
  scoped_list,    // a list or count filtered to the caller's scope inside the query
  scoped_object,  // one object named in the path: outside the scope answers as an unknown id
  scoped_create,  // creates or changes objects named in the body: each must be in scope
  transfer,       // cross-region documents: command centre or admin only, never other roles
};
const char* to_string(Jurisdiction j);

struct Route {
  std::string method;
  std::string pattern;  // "/api/persons/{id}"
  std::string summary;
  std::vector<std::string> tags;
  std::vector<ParamDoc> params;
  AuthMode auth = AuthMode::any;
  std::optional<Permission> permission;
  std::string request_body;  // content type of the request body, "" for none
  Handler handler;
  Jurisdiction jurisdiction = Jurisdiction::unset;
};

class Router {
 public:
  void add(Route r);
  // Runs the whole request. Never throws.
  Response handle(Request& req, Context& ctx) const;
  const std::vector<Route>& routes() const { return routes_; }
  // OpenAPI 3.0 document describing every route.
  nlohmann::json openapi(const std::string& version) const;
  // The second half of an offloaded handler (Context::offload): rethrows `cpu_error` if set,
  // runs d.rest; never throws.
  static Response resume(const Deferred& d, std::exception_ptr cpu_error, Request& req, Context& ctx);
  // True if some route's pattern matches the path (any method).
  bool known_path(std::string_view path) const;

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{x}" = parameter
  };
  static bool match(const Compiled& c, std::string_view path, std::map<std::string, std::string, std::less<>>* params);
  // The routes that can match `path`, in the order added (by its first two segments).
  const std::vector<std::size_t>& candidates(std::string_view path) const;
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_prefix_;
  std::vector<std::size_t> general_;
};

// The caller of an authenticated request, as the services take it (core/caller.hpp).
Caller caller_of(const Context& ctx, const Request& req);
// The same for a principal known otherwise (POST /api/scan's own path) and the client's address.
Caller caller_of(const Principal& p, const std::string& ip);

// The error response for the exception currently being handled (call inside catch(...)).
Response error_response_for_current_exception(const Request& req);

}  // namespace bihuan::api
