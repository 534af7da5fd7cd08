#pragma once
// Routes of cutting transmission chains (阻断传播链, docs/API-cases.md): venue scans, cases and
// report cards, contact finding and control, places, links and the chain graph, disinfection.
// They use the closed loop's services (profiles, watcher, code signer).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "cases/service.hpp"
#include "loop/service.hpp"

namespace bihuan::api {

void add_case_routes(Router& router);

// The venue scan's route (POST).
inline constexpr std::string_view kScanRoute = "/api/scan";

// The answer to a venue scan as JSON: exactly what dumping the nlohmann object would give (keys
// sorted), written directly on the scan's hot path; the nlohmann dump when a text is not UTF-8.
std::string scan_answer_body(const cases::ScanOut& out);

// POST /api/scan's own path on an I/O thread of the server (server.cpp), for the common request:
// the same authentication, permission check, body reading and decision as the route, without the
// router, the request object and the services built per request. A door's scanner sends nothing
// else, tens of thousands of times a second. One per I/O thread; the services it keeps (the
// thread's connection, the settings read once by the server) are built again when the thread's
// connection is.
class ScanDoor {
 public:
  explicit ScanDoor(Services& svc) : svc_(svc) {}
  ScanDoor(const ScanDoor&) = delete;
  ScanDoor& operator=(const ScanDoor&) = delete;

  struct Decided {
    cases::ScanDecision decision;
    std::int64_t user_id = 0;
  };
  // The scan decided (its visit still to be appended), or nullopt when the request is not the
  // plain successful case: the caller then runs it through the router, which gives the answer
  // (an error, or a body the fast reader does not take) exactly as ever. Nothing is written here.
  std::optional<Decided> decide(store::Repository& repo, std::string_view body, std::string_view cookie,
                                std::string_view authorization, const std::string& ip) noexcept;

 private:
  Services& svc_;
  store::Repository* repo_ = nullptr;  // what loop_ and cases_ were built on
  std::shared_ptr<const loop::LoopSettings> loop_settings_;
  std::optional<loop::Service> loop_;
  std::optional<cases::Service> cases_;
  cases::ScanIn in_;  // reused: its strings keep their capacity
  Authenticator::Kept kept_;  // the caller of the last scan
};

}  // namespace bihuan::api
