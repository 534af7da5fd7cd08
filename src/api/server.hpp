#pragma once
// The HTTP server: an acceptor and keep-alive sessions (C++20 coroutines on Boost.Beast) run by
// N I/O threads; every /api request is handled on a worker pool whose threads each own one
// store::Repository, and the session resumes on its own strand when the answer is ready.
// Graceful stop: stop accepting, let in-flight requests finish, close idle connections.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "core/date.hpp"

namespace bihuan::api {

struct ServerOptions {
  std::string db_url = "sqlite:var/bihuan.db";
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0 = any free port (see Server::port())
  int io_threads = 1;
  int db_threads = 4;
  int hash_threads = 2;  // Argon2id password hashing (login, user create, password change)
  std::string web_dir;  // "" = serve no static files
  std::size_t body_limit = 1u << 20;          // 1 MiB
  std::size_t import_body_limit = 64u << 20;  // 64 MiB for POST /api/import/*
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};   // a request's header and body
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};   // between keep-alive requests
  std::chrono::milliseconds write_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};  // then connections are cut
  bool handle_signals = false;  // SIGINT/SIGTERM start a graceful stop
  const Clock* clock = nullptr;  // default: the system clock
  std::string version = "0.1.0";
  // Closed-loop management: policy profiles directory ("" = none: the loop routes answer 503),
  // health-code key prefix, and how often the lost-from-loop watcher runs.
  std::string policies_dir = "policies";
  std::string code_key = "var/code-signing";
  // Emergency response: the playbooks directory (playbooks/*.yaml and levels.yaml; "" = none: the
  // response routes answer 503). Its watcher pass starts playbooks and escalates missed clocks.
  std::string playbooks_dir;
  // The daily bulletin: at this local hour the watcher drafts yesterday's bulletin of the
  // system's top area when none exists yet (-1 = never; the centre generates by hand).
  int bulletin_hour = 8;
  std::chrono::milliseconds watch_interval{std::chrono::seconds(5)};
  // Notifications (src/notify): the HTTP gateway messages are POSTed to ("" = none: they stay
  // queued) and its bearer token; the sender runs every watch_interval on a thread of its own.
  std::string notify_gateway;
  std::string notify_token;
  // Every handover acknowledgement deadline (unset = the per-stage defaults; 0 = overdue at once).
  std::optional<std::chrono::minutes> handover_deadline;
  // The daily retention purge (at the settings' retention.daily_at, in the deployment's local
  // time, setting deployment.time_zone), checked every purge_check_interval.
  bool purge_daily = false;
  std::chrono::milliseconds purge_check_interval{std::chrono::seconds(30)};
  // Background jobs (imports) running at once, each on its own thread and connection.
  int job_threads = 1;
  // Operations (docs/OPERATIONS.md "Running"): the access log ("" = none, "-" = stdout), the
  // proxies whose X-Forwarded-For is believed (CIDR blocks; none = the peer is the client), and
  // who may read GET /metrics (CIDR blocks matched against the client address).
  std::string access_log;
  std::vector<std::string> trusted_proxies;
  std::vector<std::string> metrics_from{"127.0.0.0/8", "::1"};
  // Alerts pushed to consoles (GET /api/alerts/stream, Server-Sent Events): how often the newest
  // alert ids are read (a change wakes the open streams, which ask for their scope's new alerts),
  // how long an idle stream waits before a keep-alive comment, how long a stream stays open
  // before it ends and the browser reconnects (authenticated again), and how many may be open.
  std::chrono::milliseconds alert_poll_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds stream_keepalive{std::chrono::seconds(15)};
  std::chrono::milliseconds stream_max_age{std::chrono::minutes(30)};
  int max_streams = 512;
};

class Server {
 public:
  explicit Server(ServerOptions opt);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the database (migrating it), binds and starts the threads. Throws bihuan::Error.
  void start();
  unsigned short port() const;  // the bound port
  // Starts a graceful stop; returns at once; safe from any thread (not from a signal handler).
  void stop();
  // Blocks until every thread has finished (after stop() or a signal).
  void wait();
  Services& services();
  const Router& router() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bihuan::api
