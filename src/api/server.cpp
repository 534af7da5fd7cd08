#include "api/net.hpp"  // first: <utility> before Boost.Asio

#include "api/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/access_log.hpp"
#include "api/audit_writer.hpp"
#include "api/scan_batch.hpp"
#include "store/audit_queue.hpp"
#include "api/import_routes.hpp"
#include "api/sim_routes.hpp"
#include "api/job_routes.hpp"
#include "api/client_ip.hpp"
#include "api/fast_http.hpp"
#include "api/loop_routes.hpp"
#include "api/retention_routes.hpp"
#include "api/routes.hpp"
#include "api/static_files.hpp"
#include "core/error.hpp"
#include "ingest/import.hpp"
#include "jobs/runner.hpp"
#include "cases/scan_index_warmer.hpp"
#include "cases/service.hpp"
#include "cases/timeliness.hpp"
#include "core/tracing.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "nat/service.hpp"
#include "api/analytics_routes.hpp"
#include "api/case_routes.hpp"
#include "api/treatment_routes.hpp"
#include "api/alert_routes.hpp"
#include "api/arrival_routes.hpp"
#include "api/risk_routes.hpp"
#include "api/enterprise_routes.hpp"
#include "api/needs_routes.hpp"
#include "api/station_routes.hpp"
#include "enterprise/service.hpp"
#include "supply/needs_service.hpp"
#include "api/response_routes.hpp"
#include "api/warning_routes.hpp"
#include "api/bulletin_routes.hpp"
#include "bulletin/service.hpp"
#include "response/service.hpp"
#include "warning/service.hpp"
#include "api/resident_routes.hpp"
#include "notify/held_travellers.hpp"
#include "store/notify_repository.hpp"
#include "notify/outbox.hpp"
#include "notify/sender.hpp"
#include "resident/service.hpp"
#include "api/nat_routes.hpp"
#include "store/backup.hpp"
#include "store/retention.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::api {

namespace {
// The repository slot of the current worker or I/O thread (null on other threads).
thread_local std::unique_ptr<store::Repository>* tl_repo = nullptr;
// The inline audit group commit of the current I/O thread (SQLite only; null elsewhere).
thread_local InlineAuditCommit* tl_inline_audit = nullptr;
// The venue-scan batch of the current I/O thread (SQLite only; null elsewhere): POST /api/scan
// runs on the I/O thread and its visit is appended with the other scans of the turn.
thread_local ScanBatch* tl_scan_batch = nullptr;
// POST /api/scan's own path on the current I/O thread (set with tl_scan_batch; case_routes.hpp).
thread_local ScanDoor* tl_scan_door = nullptr;

// Quick requests on an I/O thread read through held reads (Repository::hold_reads): one SQLite read
// transaction kept across requests while no commit has happened since it began. The snapshot is
// let go once the thread has answered no quick request for kHeldReadsFor, so that checkpoints can
// pass it; one timer per I/O thread, re-armed at most once per period, not per request.
constexpr auto kHeldReadsFor = std::chrono::milliseconds(5);
class HeldReadsTimer {
 public:
  HeldReadsTimer(net::io_context& loop, std::unique_ptr<store::Repository>& repo) : timer_(loop), repo_(repo) {}
  // A quick request has just read through the held snapshot.
  void used() {
    last_ = std::chrono::steady_clock::now();
    if (armed_) return;
    armed_ = true;
    arm(kHeldReadsFor);
  }
  void end() noexcept {
    if (repo_) repo_->end_reads();
  }

 private:
  void arm(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) {
        armed_ = false;
        return;
      }
      const auto idle = std::chrono::steady_clock::now() - last_;
      if (idle < kHeldReadsFor) {
        arm(kHeldReadsFor - idle);
        return;
      }
      armed_ = false;
      end();
    });
  }
  net::steady_timer timer_;
  std::unique_ptr<store::Repository>& repo_;
  std::chrono::steady_clock::time_point last_{};
  bool armed_ = false;
};
thread_local HeldReadsTimer* tl_held_reads = nullptr;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

using Strand = net::strand<net::io_context::executor_type>;

std::vector<Cidr> parse_blocks(const std::vector<std::string>& texts, const char* field) {
  std::vector<Cidr> out;
  for (const auto& t : texts) {
    auto c = Cidr::parse(t);
    if (!c) fail(ErrorCode::invalid_argument, std::string("not an address block (CIDR): ") + t, field);
    out.push_back(*c);
  }
  return out;
}

// The request counter and latency histogram of one route, method and status; looked up once
// per thread and key, then used without a lock.
struct RouteMetrics {
  metrics::Counter* requests = nullptr;
  metrics::Histogram* latency = nullptr;
};
RouteMetrics& route_metrics_of(std::string_view method, std::string_view route, int status);
RouteMetrics& route_metrics(std::string_view method, std::string_view route, int status) {
  // The last key of this thread first (a run of the same route is the common case).
  thread_local struct {
    std::string route, method;
    int status = 0;
    RouteMetrics* metrics = nullptr;
  } last;
  if (last.metrics && last.status == status && last.route == route && last.method == method) return *last.metrics;
  RouteMetrics& m = route_metrics_of(method, route, status);
  last.route = route;
  last.method = method;
  last.status = status;
  last.metrics = &m;
  return m;
}

RouteMetrics& route_metrics_of(std::string_view method, std::string_view route, int status) {
  thread_local std::unordered_map<std::string, RouteMetrics> cache;
  std::string key;
  key.reserve(method.size() + route.size() + 8);
  key.append(method).append(" ").append(route).append(" ").append(std::to_string(status));
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  RouteMetrics m;
  m.requests = &metrics::counter("bihuan_http_requests_total", "HTTP requests by route template, method and status",
                                 {{"route", std::string(route)}, {"method", std::string(method)},
                                  {"status", std::to_string(status)}});
  m.latency = &metrics::histogram("bihuan_http_request_duration_seconds",
                                  "Time from a request's last byte read to its answer's last byte written",
                                  {{"route", std::string(route)}, {"method", std::string(method)}});
  return cache.emplace(std::move(key), m).first->second;
}

metrics::Histogram& db_wait_histogram() {
  static auto& h = metrics::histogram("bihuan_db_worker_wait_seconds",
                                      "Time an API request waited for a free database worker");
  return h;
}
}  // namespace

struct Server::Impl {
  ServerOptions opt;
  SystemClock system_clock;
  Services services;
  Router router;

  // One single-threaded event loop per I/O thread; connections are dealt out in turn. The first
  // loop also runs the acceptor, signals and grace timer (`control`).
  net::io_context ioc{1};
  std::vector<std::unique_ptr<net::io_context>> more_io;  // the loops of I/O threads 2..n
  std::vector<net::executor_work_guard<net::io_context::executor_type>> more_io_guards;
  std::size_t next_loop = 0;  // used on `control` only
  Strand control{net::make_strand(ioc)};  // acceptor, signals, grace timer
  tcp::acceptor acceptor{control};
  net::signal_set signals{control};
  net::steady_timer grace{control};
  net::io_context pool;
  std::unique_ptr<net::thread_pool> hash_pool;
  AuditWriter audit_writer{opt.db_url};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> pool_guard;
  std::vector<std::thread> io_threads, pool_threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  unsigned short bound_port = 0;
  std::unique_ptr<loop::Profiles> loop_profiles;
  std::unique_ptr<response::Library> response_library;
  std::unique_ptr<loop::CodeSigner> code_signer;
  std::unique_ptr<loop::Watcher> watcher;
  // SQLite: held while serving, so `bihuan restore` refuses to replace the file under us.
  std::optional<store::ServeLock> serve_lock;
  // The daily retention purge.
  std::thread purge_thread;
  std::mutex purge_mu;
  std::condition_variable purge_cv;
  bool purge_stop = false;
  // The notification sender (src/notify), every watch_interval.
  std::thread notify_thread;
  std::mutex notify_mu;
  std::condition_variable notify_cv;
  bool notify_stop = false;
  std::unique_ptr<jobs::Runner> job_runner;
  std::unique_ptr<cases::IndexWarmer> index_warmer;  // loads the scan log's index after the start
  // SQLite: WAL checkpoints on a thread of their own (store::WalCheckpointer), every 50 ms.
  std::unique_ptr<store::WalCheckpointer> checkpointer;
  std::thread checkpoint_thread;
  std::mutex checkpoint_mu;
  std::condition_variable checkpoint_cv;
  bool checkpoint_stop = false;
  // SQLite: the file whose audit queue the I/O threads write (store/audit_queue.hpp), and the
  // thread that moves the queue into audit_log; empty on PostgreSQL.
  std::string audit_queue_main;
  std::thread audit_move_thread;
  std::mutex audit_move_mu;
  std::condition_variable audit_move_cv;
  bool audit_move_stop = false;
  // Alerts pushed to consoles: the poller thread bumps the generation when the newest alert ids
  // change; each open stream (at most opt.max_streams) then asks for its scope's new alerts.
  std::atomic<std::uint64_t> alert_generation{0};
  std::atomic<int> live_streams{0};
  std::thread alert_thread;
  std::mutex alert_mu;
  std::condition_variable alert_cv;
  bool alert_stop = false;
  std::vector<Cidr> trusted_proxies, metrics_from;
  std::unique_ptr<AccessLog> access_log;
  std::vector<metrics::Watch> watches;

  // Open connections, for closing idle ones at stop.
  struct Conn {
    net::any_io_executor strand;
    beast::tcp_stream* stream = nullptr;  // null once the session ended; touched on `strand` only
    bool idle = true;
    // The fast path's reads and writes use the socket directly, without the stream's per-operation
    // timers: the connection's watchdog closes the socket once this deadline has passed.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    net::steady_timer* watchdog = nullptr;
  };
  std::mutex conns_mu;
  std::unordered_map<std::uint64_t, std::shared_ptr<Conn>> conns;
  std::uint64_t next_conn = 1;

  explicit Impl(ServerOptions o) : opt(std::move(o)) {
    services.clock = opt.clock ? opt.clock : &system_clock;
    trusted_proxies = parse_blocks(opt.trusted_proxies, "trusted_proxy");
    metrics_from = parse_blocks(opt.metrics_from, "metrics_from");
    add_api_routes(router, RouteOptions{opt.version});
    add_loop_routes(router);
    add_nat_routes(router);
    add_case_routes(router);
    add_treatment_routes(router);
    add_analytics_routes(router);
    add_risk_routes(router);
    add_arrival_routes(router);
    add_alert_routes(router);
    add_response_routes(router);
    add_warning_routes(router);
    add_enterprise_routes(router);
    add_needs_routes(router);
    add_station_routes(router);
    add_resident_routes(router);
    add_bulletin_routes(router);
    add_retention_routes(router);
    add_job_routes(router);
    add_import_routes(router);
    add_sim_routes(router);
  }

  // Wakes every purge_check_interval; runs the purge when the daily time (local) passed since
  // the last wake. Settings are re-read each time, so a changed time applies at once.
  // Moves the audit queue into audit_log every 100 ms (small batches: the move's CPU and its
  // write of audit_log come in short bursts beside the I/O threads), and once more when asked to
  // stop (after the I/O threads have ended, so nothing is left behind).
  void audit_move_loop() {
    static auto& moved = metrics::counter("bihuan_audit_records_moved_total",
                                          "Audit records moved from the audit queue into audit_log");
    static auto& failures = metrics::counter("bihuan_audit_move_failures_total",
                                             "Moves of the audit queue into audit_log that failed (tried again)");
    std::unique_ptr<store::Repository> repo;
    std::unique_ptr<store::AuditQueue> queue;
    std::unique_lock lock(audit_move_mu);
    for (;;) {
      const bool last = audit_move_stop;
      lock.unlock();
      try {
        if (!repo) repo = store::open_repository(opt.db_url);
        if (!queue) queue = std::make_unique<store::AuditQueue>(audit_queue_main);
        moved.inc(static_cast<std::uint64_t>(queue->move_into(*repo)));
      } catch (const std::exception& e) {
        failures.inc();
        spdlog::warn("moving the audit queue into audit_log failed (tried again): {}", e.what());
        repo.reset();
        queue.reset();
      }
      lock.lock();
      if (last) return;
      audit_move_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return audit_move_stop; });
    }
  }

  void purge_loop() {
    std::unique_ptr<store::Repository> repo;
    Instant last = services.clock->now();
    std::unique_lock lock(purge_mu);
    while (!purge_stop) {
      purge_cv.wait_for(lock, opt.purge_check_interval, [this] { return purge_stop; });
      if (purge_stop) break;
      lock.unlock();
      try {
        if (!repo) repo = store::open_repository(opt.db_url);
        const Instant now = services.clock->now();
        const auto s = store::retention_settings(*repo);
        if (retention::next_daily_run(last, s.daily_at_minutes,
                                      static_cast<int>(services.local_time.offset.count())) <= now) {
          store::PurgeOptions o;
          o.username = "scheduler";
          o.trigger = "schedule";
          if (services.jobs) {
            // As a job like any other: it shows in the jobs list and waits for a running import.
            const auto id = services.jobs->submit(*repo, "purge", 0, purge_job(o, *services.clock));
            spdlog::info("retention purge started (job {})", id);
          } else {
            const auto rep = store::purge(*repo, s, now, o);
            spdlog::info("retention purge: {} rows deleted", rep.total());
          }
        }
        last = now;
      } catch (const std::exception& e) {
        // Tried again at the next wake (the time stays passed until a purge succeeds).
        spdlog::error("retention purge failed: {}", e.what());
        repo.reset();
      }
      lock.lock();
    }
  }

  struct Handled {
    Response res;
    std::vector<store::AuditRecord> audits;
    std::int64_t user_id = 0;
    std::optional<Principal> principal;
  };

  // Closed-loop management: profiles, code keys and the watcher (which loads pending deadlines
  // once and then runs on a timer). Without a policies directory the loop routes answer 503.
  void start_loop() {
    auto& s = *this;
  s.code_signer = std::make_unique<loop::CodeSigner>(s.opt.code_key);
  s.services.code_signer = s.code_signer.get();
  s.services.handover_deadline = s.opt.handover_deadline;
  if (s.opt.policies_dir.empty()) return;
  try {
    s.loop_profiles = std::make_unique<loop::Profiles>(s.opt.policies_dir);
  } catch (const Error& e) {
    spdlog::warn("closed-loop management is off: {}", e.what());
    return;
  }
  s.services.loop_profiles = s.loop_profiles.get();
  s.watcher = std::make_unique<loop::Watcher>(store::open_repository(s.opt.db_url), *s.loop_profiles, *s.services.clock);
  auto raised = s.watcher->load();
  if (!raised.empty()) spdlog::warn("{} active orders have no owner (alerts raised)", raised.size());
  s.services.loop_watcher = s.watcher.get();
  auto* w = s.watcher.get();
  const Clock* clock = s.services.clock;
  s.watches.push_back(metrics::watch("bihuan_watcher_pending", "Deadlines the lost-from-loop watcher holds", {},
                                     [w] { return static_cast<double>(w->pending()); }));
  s.watches.push_back(metrics::watch("bihuan_watcher_retrying",
                                     "Deadlines and escalations waiting for a retry after a database error", {},
                                     [w] { return static_cast<double>(w->retrying()); }));
  s.watches.push_back(metrics::watch(
      "bihuan_watcher_lag_seconds", "How long the oldest due deadline has waited to be processed", {}, [w, clock] {
        auto due = w->oldest_due();
        const auto now = clock->now();
        return due && *due < now ? std::chrono::duration<double>(now - *due).count() : 0.0;
      }));
  // Testing's sweep (late boxes, overdue re-tests and turnaround) runs after each watcher pass,
  // on a connection of its own.
  {
    auto sweep_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    auto* profiles = s.loop_profiles.get();
    auto* signer = s.code_signer.get();
    s.watcher->add_pass([sweep_repo, profiles, signer, clock](Instant) {
      loop::Service loop(*sweep_repo, *profiles, *clock);
      nat::Service nat(*sweep_repo, loop, signer, *clock);
      const auto swept = nat.sweep();
      if (!swept.empty()) spdlog::info("testing: {} alerts raised by the sweep", swept.size());
      // Work resumption: staff tests still missed a day after their due time go on to the street.
      enterprise::Service ent(*sweep_repo, loop, nat, *clock, LocalTime{});
      const auto escalated = ent.sweep(clock->now());
      if (!escalated.empty()) spdlog::info("enterprises: {} missed staff tests sent on to the street", escalated.size());
      // 保供: medical requests not served by their deadline go to the command centre.
      supply::NeedsService needs(*sweep_repo, loop, *clock, supply::DeadlineRules{}, LocalTime{});
      const auto late = needs.sweep(clock->now());
      if (!late.empty()) spdlog::warn("supply: {} late medical requests sent to the command centre", late.size());
    });
  }
  // Travellers held by an identity conflict of a manifest are outside the loop until it is
  // resolved: each one still held after loop.held_traveller_minutes is alerted once.
  {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    s.watcher->add_pass([pass_repo](Instant now) {
      const auto out = notify::raise_held_traveller_alerts(*pass_repo, now);
      if (out.alerted) spdlog::warn("loop: {} travellers held by identity conflicts alerted", out.alerted);
    });
  }
  // Timeliness of case investigations: each breach of the 2 h / 4 h / 24 h targets raised once
  // as an alert in the case's area and pushed to its staff, on a connection of its own.
  {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    auto* profiles = s.loop_profiles.get();
    s.watcher->add_pass([pass_repo, profiles, clock](Instant now) {
      loop::Service loop(*pass_repo, *profiles, *clock);
      const auto rules = tracing::rules_of(profiles->get(loop.active_profile()));
      const auto out = cases::raise_breach_alerts(*pass_repo, rules, now);
      if (out.raised) spdlog::warn("cases: {} timeliness breaches alerted", out.raised);
    });
  }
  // Emergency response: playbooks started by triggers (cases, clusters, rounds) and missed
  // clocks escalated, after each watcher pass, on a connection of its own.
  if (!s.opt.playbooks_dir.empty()) {
    try {
      s.response_library = std::make_unique<response::Library>(s.opt.playbooks_dir);
      s.services.response_library = s.response_library.get();
    } catch (const Error& e) {
      spdlog::warn("emergency response is off: {}", e.what());
    }
  }
  if (s.response_library) {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    auto* lib = s.response_library.get();
    const auto every = loop::read_settings(*pass_repo).escalate_every;
    const auto local = store::local_time_of(*pass_repo);
    auto warned_at = std::make_shared<std::optional<Instant>>();
    s.watcher->add_pass([pass_repo, lib, clock, every, local, warned_at](Instant now) {
      response::Service svc(*pass_repo, *lib, *clock, every, local);
      const auto out = svc.sweep(now);
      if (!out.opened.empty() || !out.escalated.empty())
        spdlog::info("response: {} events started, {} triggers joined, {} tasks escalated", out.opened.size(), out.joined,
                     out.escalated.size());
      // Early warning (多点触发): the feeds' signals, each new one opening or joining an
      // early_warning event (src/warning); at once after a feed file or a rule changed in this
      // process, else at most once a minute.
      if (!warning::take_feeds_changed() && *warned_at && now - **warned_at < std::chrono::minutes(1)) return;
      *warned_at = now;
      warning::Service warn(*pass_repo, *clock, local);
      const auto sig = warn.sweep(now, &svc);
      if (sig.opened || sig.closed)
        spdlog::info("warning: {} signals raised, {} closed, {} events", sig.opened, sig.closed, sig.events.size());
    });
  } else {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    const auto local = store::local_time_of(*pass_repo);
    auto warned_at = std::make_shared<std::optional<Instant>>();
    s.watcher->add_pass([pass_repo, clock, local, warned_at](Instant now) {
      if (!warning::take_feeds_changed() && *warned_at && now - **warned_at < std::chrono::minutes(1)) return;
      *warned_at = now;
      warning::Service warn(*pass_repo, *clock, local);
      warn.sweep(now, nullptr);
    });
  }
  // Notifications: the scan that writes the messages of new orders, results, alerts, escalated
  // tasks and the day's test reminders; and residents' appeals past their deadline escalated.
  {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    auto scanner = std::make_shared<notify::Scanner>(*pass_repo, s.loop_profiles.get(), *clock, store::local_time_of(*pass_repo));
    s.watcher->add_pass([pass_repo, scanner](Instant now) {
      if (const int n = scanner->run(now)) spdlog::info("notify: {} messages queued by the scan", n);
    });
    auto* profiles = s.loop_profiles.get();
    auto* signer = s.code_signer.get();
    auto local = store::local_time_of(*pass_repo);
    s.watcher->add_pass([pass_repo, profiles, signer, clock, local](Instant now) {
      resident::Service svc(*pass_repo, profiles, signer, *clock, local, resident::read_settings(*pass_repo));
      const auto late = svc.sweep(now);
      if (!late.empty()) spdlog::warn("residents: {} appeals past their deadline escalated", late.size());
    });
  }
  // The daily bulletin's scheduled draft (yesterday's, at the set hour), on a connection of its own.
  if (s.opt.bulletin_hour >= 0 && s.opt.bulletin_hour < 24) {
    auto pass_repo = std::shared_ptr<store::Repository>(store::open_repository(s.opt.db_url));
    const auto local = store::local_time_of(*pass_repo);
    const int hour = s.opt.bulletin_hour;
    s.watcher->add_pass([pass_repo, clock, local, hour](Instant now) {
      bulletin::Service svc(*pass_repo, *clock, local);
      if (auto id = svc.scheduled(now, hour)) spdlog::info("bulletin: yesterday's draft generated (bulletin {})", *id);
    });
  }
  s.watcher->start(s.opt.watch_interval);
}

  // Delivers queued notifications to the gateway every watch_interval (nothing without one but
  // the expiry of undelivered one-time codes).
  // Reads the newest ids of the loop's and testing's alerts every alert_poll_interval (whoever
  // wrote them: a request, the watcher, another process) and bumps alert_generation on a change.
  void alert_poll_loop() {
    std::unique_ptr<store::Repository> repo;
    std::unique_ptr<store::NotifyRepository> ids;
    std::int64_t last_loop = -1, last_nat = -1;
    std::unique_lock lock(alert_mu);
    while (!alert_stop) {
      alert_cv.wait_for(lock, opt.alert_poll_interval, [this] { return alert_stop; });
      if (alert_stop) break;
      lock.unlock();
      try {
        if (!repo) {
          repo = store::open_repository(opt.db_url);
          ids = store::open_notify_repository(*repo);
        }
        const auto a = ids->max_id("alerts");
        const auto b = ids->max_id("test_alerts");
        if (a != last_loop || b != last_nat) {
          last_loop = a;
          last_nat = b;
          alert_generation.fetch_add(1);
        }
      } catch (const std::exception& e) {
        spdlog::warn("alert poll: {} (tried again)", e.what());
        ids.reset();
        repo.reset();
      }
      lock.lock();
    }
  }

  void notify_loop() {
    std::unique_ptr<store::Repository> repo;
    notify::Gateway g;
    g.url = opt.notify_gateway;
    g.token = opt.notify_token;
    std::unique_lock lock(notify_mu);
    while (!notify_stop) {
      notify_cv.wait_for(lock, opt.watch_interval, [this] { return notify_stop; });
      if (notify_stop) break;
      lock.unlock();
      try {
        if (!repo) repo = store::open_repository(opt.db_url);
        notify::Sender sender(*repo, g, *services.clock);
        const auto r = sender.run();
        if (r.sent || r.failed || r.dead)
          spdlog::info("notify: {} sent, {} failed (retried later), {} dead", r.sent, r.failed, r.dead);
      } catch (const std::exception& e) {
        spdlog::error("notify: the sender failed (tried again): {}", e.what());
        repo.reset();
      }
      lock.lock();
    }
  }

  // The current worker's or I/O thread's repository, opened on first use (null on a thread without
  // one, or when it cannot be opened); with `held_reads`, its reads go through the thread's held
  // snapshot.
  store::Repository* thread_repository(bool held_reads) {
    if (!tl_repo) return nullptr;
    auto& slot = *tl_repo;
    if (!slot) {
      try {
        slot = store::open_repository(opt.db_url);
      } catch (const std::exception& e) {
        spdlog::error("cannot open the database: {}", e.what());
        return nullptr;
      }
    }
    if (held_reads && tl_held_reads) {
      try {
        slot->hold_reads();
        tl_held_reads->used();
      } catch (const std::exception& e) {
        slot->end_reads();  // the request reads statement by statement instead
        spdlog::warn("held reads: {}", e.what());
      }
    }
    return slot.get();
  }

  // req on a worker; with `deferred`, the second half of an offloaded handler; with
  // `held_reads`, its reads go through the thread's held snapshot (a quick request on an I/O thread).
  Handled handle_on_worker(Request& req, const Deferred* deferred = nullptr, std::exception_ptr cpu_error = nullptr,
                           std::optional<Principal> principal = std::nullopt, bool held_reads = false,
                           bool batch_scans = false) {
    if (!tl_repo) return {Response::error(500, "internal", "not on a worker thread"), {}, 0, std::nullopt};
    store::Repository* repo = thread_repository(held_reads);
    if (!repo) return {Response::error(503, "unavailable", "database unavailable"), {}, 0, std::nullopt};
    Context ctx{*repo, services, std::move(principal), {}};
    Handled out;
    if (deferred) {
      out.res = Router::resume(*deferred, cpu_error, req, ctx);
    } else {
      ctx.can_defer = true;
      ctx.can_batch_scans = batch_scans;
      out.res = router.handle(req, ctx);
    }
    out.audits = std::move(ctx.audits);
    if (ctx.principal) out.user_id = ctx.principal->user.id;
    out.principal = std::move(ctx.principal);
    return out;
  }

  static net::awaitable<Handled> run_on_pool(Impl* self, Request* req, std::chrono::steady_clock::time_point queued) {
    db_wait_histogram().observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - queued).count());
    co_return self->handle_on_worker(*req);
  }
  static net::awaitable<Handled> resume_on_pool(Impl* self, Request* req, std::shared_ptr<Deferred> d,
                                                std::exception_ptr cpu_error, std::optional<Principal> principal,
                                                std::chrono::steady_clock::time_point queued) {
    db_wait_histogram().observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - queued).count());
    co_return self->handle_on_worker(*req, d.get(), cpu_error, std::move(principal));
  }
  static net::awaitable<std::exception_ptr> run_cpu(std::shared_ptr<Deferred> d) {
    static auto& seconds = metrics::histogram("bihuan_password_hash_seconds",
                                              "Time of password hashing work on the hashing pool");
    const auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr err;
    try {
      d->cpu();
    } catch (...) {
      err = std::current_exception();
    }
    seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    co_return err;
  }

  // Runs an /api request on the worker pool (a quick one, see is_quick_request, right here on
  // the I/O thread, which has a repository of its own), then commits its audit records.
  net::awaitable<Response> handle_api(Request& req, std::int64_t& user_id) {
    // (No co_await inside a conditional expression: g++ 12 destroys its temporary too early.)
    Handled h;
    if (is_quick_request(req))
      h = handle_on_worker(req, nullptr, nullptr, std::nullopt, true);
    else if (tl_scan_batch && is_scan_request(req))
      h = handle_on_worker(req, nullptr, nullptr, std::nullopt, true, true);
    else
      h = co_await net::co_spawn(pool.get_executor(), run_on_pool(this, &req, std::chrono::steady_clock::now()),
                                 net::use_awaitable);
    if (h.res.deferred) {
      // Password hashing: on the hashing pool, then the rest of the handler on a worker again.
      auto d = std::move(h.res.deferred);
      std::exception_ptr err = co_await net::co_spawn(hash_pool->get_executor(), run_cpu(d), net::use_awaitable);
      Handled rest = co_await net::co_spawn(
          pool.get_executor(),
          resume_on_pool(this, &req, d, err, std::move(h.principal), std::chrono::steady_clock::now()),
          net::use_awaitable);
      for (auto& a : rest.audits) h.audits.push_back(std::move(a));
      h.res = std::move(rest.res);
      h.user_id = rest.user_id;
    }
    if (h.res.pending_scan) {
      // The visit joins the other scans of this turn (api/scan_batch.hpp); answered once committed.
      auto p = std::move(h.res.pending_scan);
      auto appender = p->decision.appender;
      auto outcome = co_await tl_scan_batch->append(std::move(appender), std::move(p->decision.visit));
      try {
        if (outcome.error) std::rethrow_exception(outcome.error);
        h.res = p->answer(cases::Service::finish_scan(std::move(p->decision), outcome.result));
      } catch (...) {
        h.res = error_response_for_current_exception(req);
      }
    }
    user_id = h.user_id;
    if (!h.audits.empty()) {
      try {
        // On SQLite the I/O thread commits the records of its turn itself (no hand-off to the
        // audit writer's thread and back); on PostgreSQL a commit waits for the server, so the
        // audit writer's thread does it.
        if (tl_inline_audit)
          co_await tl_inline_audit->append(std::move(h.audits));
        else
          co_await audit_writer.append(std::move(h.audits));
      } catch (...) {
        co_return error_response_for_current_exception(req);
      }
    }
    co_return std::move(h.res);
  }

  // GET /metrics: the Prometheus text format, for clients in metrics_from only (others: 404).
  Response metrics_response(const Request& req) const {
    if (!in_any(metrics_from, req.client_ip)) return Response::error(404, "not_found", "no such endpoint: " + req.path);
    if (req.method != "GET" && req.method != "HEAD")
      return Response::error(405, "invalid_argument", "method " + req.method + " not allowed on " + req.path);
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics::exposition();
    return r;
  }

  void record(const Request& req, std::string_view route, int status, std::chrono::steady_clock::time_point t0,
              std::int64_t user_id) {
    record(req.method, route, status, t0, user_id);
  }
  void record(std::string_view method, std::string_view route, int status, std::chrono::steady_clock::time_point t0,
              std::int64_t user_id) {
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto& m = route_metrics(method, route, status);
    m.requests->inc();
    m.latency->observe(elapsed);
    if (access_log) access_log->write({services.clock->now(), method, route, status, elapsed * 1000.0, user_id});
  }

  // A venue scan through the door path (tl_scan_door, decided already): its visit joins the
  // turn's group, then the answer as the route gives it. True: the connection stays open.
  net::awaitable<bool> door_answer(tcp::socket& socket, Conn& conn, ScanDoor::Decided d, bool keep,
                                   std::chrono::steady_clock::time_point t0, std::string& head) {
    static auto& door = metrics::counter("bihuan_scan_door_answers_total",
                                         "Venue scans decided by the scan's own path on an I/O thread (the others, "
                                         "errors among them, went through the router)");
    door.inc();
    auto appender = d.decision.appender;
    auto outcome = co_await tl_scan_batch->append(std::move(appender), std::move(d.decision.visit));
    Response res;
    try {
      if (outcome.error) std::rethrow_exception(outcome.error);
      res.body = scan_answer_body(cases::Service::finish_scan(std::move(d.decision), outcome.result));
    } catch (...) {
      Request req;
      req.method = "POST";
      req.path = "/api/scan";
      res = error_response_for_current_exception(req);
    }
    const bool keep_open = keep && !stopping;
    head.clear();
    append_answer_head(head, res.status, res.content_type, true, res.headers, keep_open, res.body.size());
    const std::array<net::const_buffer, 2> out{net::buffer(head), net::buffer(res.body)};
    boost::system::error_code ec;
    conn.deadline = std::chrono::steady_clock::now() + opt.write_timeout;
    co_await net::async_write(socket, out, net::redirect_error(net::use_awaitable, ec));
    conn.deadline = std::chrono::steady_clock::time_point::max();
    record("POST", kScanRoute, res.status, t0, d.user_id);
    co_return !ec && keep_open;
  }

  static Request make_request(std::string_view method, std::string_view target, std::string_view content_type,
                              std::string_view cookie, std::string_view authorization, const std::string& ip) {
    Request r;
    r.method = method;
    auto qpos = target.find('?');
    r.path = percent_decode(target.substr(0, qpos), false);
    if (qpos != std::string_view::npos) r.query = parse_query(target.substr(qpos + 1));
    r.content_type = content_type;
    r.cookie = cookie;
    r.authorization = authorization;
    r.client_ip = ip;
    return r;
  }

  static Request to_request(http::request<http::string_body>& m, const std::string& ip) {
    auto sv = [](beast::string_view v) { return std::string_view(v.data(), v.size()); };
    Request r = make_request(sv(m.method_string()), sv(m.target()), sv(m[http::field::content_type]),
                             sv(m[http::field::cookie]), sv(m[http::field::authorization]), ip);
    r.body = std::move(m.body());
    return r;
  }

  // The answer to a request, whichever path read it.
  net::awaitable<Response> answer(Request& req, bool& api, std::string_view& route, std::int64_t& user_id) {
    api = req.path == "/api" || req.path.rfind("/api/", 0) == 0;
    Response res;
    if (api) {
      res = co_await handle_api(req, user_id);
      route = req.route.empty() ? std::string_view("unmatched") : std::string_view(req.route);
    } else if (req.path == "/metrics") {
      res = metrics_response(req);
      route = "/metrics";
    } else {
      res = serve_static(opt.web_dir, req.method, req.path);
      route = "static";
    }
    co_return res;
  }

  // Closes the connection's socket when its fast-path deadline has passed (checked a few times
  // per timeout, at least once a second); ends with the session, which cancels the timer.
  static net::awaitable<void> watch(Impl* self, std::shared_ptr<Conn> conn) {
    net::steady_timer timer(co_await net::this_coro::executor);
    conn->watchdog = &timer;
    const auto tick = std::max(std::chrono::milliseconds(1),
                               std::min({std::chrono::milliseconds(1000), self->opt.idle_timeout / 4,
                                         self->opt.read_timeout / 4, self->opt.write_timeout / 4}));
    boost::system::error_code ec;
    while (conn->stream) {
      timer.expires_after(tick);
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (!conn->stream) break;
      if (std::chrono::steady_clock::now() > conn->deadline) {
        boost::system::error_code ignored;
        conn->stream->socket().close(ignored);  // the pending read or write ends with an error
        conn->deadline = std::chrono::steady_clock::time_point::max();
      }
    }
    conn->watchdog = nullptr;
  }

  static http::response<http::string_body> to_message(Response&& r, unsigned version, bool keep_alive, bool head,
                                                      bool api) {
    http::response<http::string_body> m{static_cast<http::status>(r.status), version};
    m.set(http::field::server, "bihuan");
    m.set(http::field::content_type, r.content_type);
    m.set("X-Content-Type-Options", "nosniff");
    // API answers are not cached unless the route says otherwise (the public portal's).
    if (api && !r.header("Cache-Control")) m.set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers) m.insert(k, v);
    m.keep_alive(keep_alive);
    const auto size = r.body.size();
    if (!head) m.body() = std::move(r.body);
    m.content_length(size);
    return m;
  }

  net::awaitable<void> write_error(beast::tcp_stream& stream, unsigned version, Response r) {
    boost::system::error_code ec;
    auto m = to_message(std::move(r), version, false, false, true);
    stream.expires_after(opt.write_timeout);
    co_await http::async_write(stream, m, net::redirect_error(net::use_awaitable, ec));
  }

  // After refusing a body: stop sending, then read and discard what the client still sends
  // (bounded), so the client sees the answer instead of a connection reset.
  net::awaitable<void> linger(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::vector<char> sink(64 * 1024);
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(5));
    while (!ec && drained < (16u << 20)) {
      drained += co_await stream.async_read_some(net::buffer(sink), net::redirect_error(net::use_awaitable, ec));
    }
  }

  net::awaitable<void> refuse_body(beast::tcp_stream& stream, unsigned version, std::size_t limit) {
    co_await write_error(stream, version,
                         Response::error(413, "payload_too_large",
                                         "request body over " + std::to_string(limit) + " bytes", "body"));
    co_await linger(stream);
  }

  static net::awaitable<void> session(Impl* self, tcp::socket socket, std::shared_ptr<Conn> conn, std::uint64_t id) {
    beast::tcp_stream stream(std::move(socket));
    conn->stream = &stream;
    if (self->trusted_proxies.empty()) net::co_spawn(stream.get_executor(), watch(self, conn), net::detached);
    try {
      co_await self->serve_connection(stream, *conn);
    } catch (const std::exception& e) {
      spdlog::warn("connection ended by an exception: {}", e.what());
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
    conn->stream = nullptr;
    if (conn->watchdog) conn->watchdog->cancel();
    self->connection_ended(id);
  }

  // (data by value: the coroutine keeps it across the write.)
  net::awaitable<bool> send_raw(beast::tcp_stream& stream, std::string data) {
    boost::system::error_code ec;
    stream.expires_after(opt.write_timeout);
    co_await net::async_write(stream, net::buffer(data), net::redirect_error(net::use_awaitable, ec));
    stream.expires_never();
    co_return !ec;
  }

  // GET /api/alerts/stream after its route answered 200: the head and the route's first event,
  // then, whenever alert_generation moves (and at least once a minute, which also checks that
  // the session is still valid), the caller's GET /api/alerts/recent after the last cursor, run
  // like any request of the caller (authentication, permission, scope), sent as an event when it
  // holds alerts. A keep-alive comment after stream_keepalive of silence; the stream ends at
  // stream_max_age, at a stop, on a write error, or with an `end` event when the caller may no
  // longer read alerts (signed out, disabled).
  net::awaitable<void> event_stream(beast::tcp_stream& stream, Conn& conn, Request req, Response first,
                                    std::chrono::steady_clock::time_point t0, std::int64_t user_id) {
    using steady = std::chrono::steady_clock;
    if (live_streams.fetch_add(1) >= opt.max_streams) {
      live_streams.fetch_sub(1);
      record(req, kAlertStreamRoute, 503, t0, user_id);
      co_await write_error(stream, 11, Response::error(503, "unavailable", "too many open alert streams; try again later"));
      co_return;
    }
    struct Release {
      std::atomic<int>& n;
      ~Release() { n.fetch_sub(1); }
    } release{live_streams};
    record(req, kAlertStreamRoute, 200, t0, user_id);
    std::string cursor(first.header("X-Alert-Cursor").value_or(""));
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: bihuan\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n"
        "Connection: close\r\n\r\n";
    head += first.body;
    bool ok = co_await send_raw(stream, std::move(head));
    if (!ok) co_return;
    net::steady_timer timer(co_await net::this_coro::executor);
    const auto tick = std::clamp(opt.alert_poll_interval / 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    const auto opened = steady::now();
    auto last_sent = opened, last_check = opened;
    std::uint64_t seen = alert_generation.load();
    boost::system::error_code ec;
    for (;;) {
      conn.idle = true;
      timer.expires_after(tick);
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      conn.idle = false;
      if (stopping) co_return;
      const auto now = steady::now();
      if (now - opened >= opt.stream_max_age) co_return;
      const auto gen = alert_generation.load();
      if (gen != seen || now - last_check >= std::chrono::minutes(1)) {
        seen = gen;
        last_check = now;
        Request r = make_request("GET", std::string(kAlertRecentRoute) + "?after=" + cursor, "", req.cookie,
                                 req.authorization, req.client_ip);
        std::int64_t uid = 0;
        Response res = co_await handle_api(r, uid);
        if (res.status != 200) {
          std::string end = "event: end\ndata: ";
          end += res.body;
          end += "\n\n";
          co_await send_raw(stream, std::move(end));
          co_return;
        }
        const auto j = nlohmann::json::parse(res.body, nullptr, false);
        if (j.is_discarded() || !j.contains("cursor")) co_return;
        const std::string next = j.value("cursor", cursor);
        if (j.contains("alerts") && !j["alerts"].empty()) {
          std::string event = "id: ";
          event += next;
          event += "\nevent: alerts\ndata: ";
          event += res.body;
          event += "\n\n";
          ok = co_await send_raw(stream, std::move(event));
          if (!ok) co_return;
          last_sent = now;
        }
        cursor = next;
      }
      if (now - last_sent >= opt.stream_keepalive) {
        ok = co_await send_raw(stream, ": keep-alive\n\n");
        if (!ok) co_return;
        last_sent = now;
      }
    }
  }

  net::awaitable<void> serve_connection(beast::tcp_stream& stream, Conn& conn) {
    boost::system::error_code ec;
    const auto remote = stream.socket().remote_endpoint(ec);
    const std::string peer_ip = ec ? std::string{} : remote.address().to_string();
    beast::flat_buffer buffer;
    // The fast path (plain GETs and small POSTs, see fast_http.hpp); with trusted proxies every request goes
    // through Beast, which reads X-Forwarded-For.
    const bool fast = trusted_proxies.empty();
    std::string answer_head;
    using steady = std::chrono::steady_clock;
    for (;;) {
      if (fast) {
        conn.idle = true;
        if (stopping) co_return;
        SimpleGet get;
        HeadScan scan = HeadScan::incomplete;
        conn.deadline = steady::now() + opt.idle_timeout;
        bool partial = false;
        for (;;) {
          const auto data = buffer.data();
          scan = scan_simple_get(std::string_view(static_cast<const char*>(data.data()), data.size()), get);
          if (scan != HeadScan::incomplete) break;
          if (buffer.size() > 0 && !partial) {
            partial = true;  // a request has begun: it must arrive within the read timeout
            conn.deadline = steady::now() + opt.read_timeout;
          }
          // Asio first tries the read at once (a request often is there already: the answers of a
          // turn go out before their connections read again) and otherwise waits for the socket's
          // edge-triggered readiness, registered once. A wait for readiness before every read
          // (async_wait) costs an epoll_ctl each time, dearer than the reads that find nothing
          // (perf: 1 recv + 1 epoll_ctl per scan before, 1.4 recv now).
          const std::size_t n = co_await stream.socket().async_read_some(buffer.prepare(4096),
                                                                    net::redirect_error(net::use_awaitable, ec));
          if (ec) co_return;  // closed, reset, timed out or stopped
          buffer.commit(n);
        }
        conn.deadline = steady::time_point::max();
        // (A body over the server's limit goes to Beast, which refuses it.)
        if (scan == HeadScan::simple && get.body.size() <= opt.body_limit) {
          conn.idle = false;
          const auto t0 = steady::now();
          if (tl_scan_door && get.method == "POST" && get.target == kScanRoute) {
            // A venue scan: decided by the door path when it is the plain successful case (the
            // rest goes through the router below, which answers it as ever).
            std::optional<ScanDoor::Decided> d;
            // (Without a repository the router's path answers 503.)
            if (auto* repo = thread_repository(true))
              d = tl_scan_door->decide(*repo, get.body, get.cookie, get.authorization, peer_ip);
            if (d) {
              const bool keep = get.keep_alive;
              buffer.consume(get.size);
              if (!co_await door_answer(stream.socket(), conn, std::move(*d), keep, t0, answer_head)) co_return;
              continue;
            }
          }
          Request req = make_request(get.method, get.target, get.content_type, get.cookie, get.authorization, peer_ip);
          req.body.assign(get.body);
          const bool keep = get.keep_alive;
          buffer.consume(get.size);
          bool api = false;
          std::string_view route;
          std::int64_t user_id = 0;
          Response res = co_await answer(req, api, route, user_id);
          if (api && res.status == 200 && req.route == kAlertStreamRoute) {
            co_await event_stream(stream, conn, std::move(req), std::move(res), t0, user_id);
            co_return;
          }
          const bool keep_open = keep && !stopping;
          answer_head.clear();
          append_answer_head(answer_head, res.status, res.content_type, api, res.headers, keep_open, res.body.size());
          const std::array<net::const_buffer, 2> out{net::buffer(answer_head), net::buffer(res.body)};
          conn.deadline = steady::now() + opt.write_timeout;
          co_await net::async_write(stream.socket(), out, net::redirect_error(net::use_awaitable, ec));
          conn.deadline = steady::time_point::max();
          record(req, route, res.status, t0, user_id);
          if (ec || !keep_open) co_return;
          continue;
        }
      }
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(opt.import_body_limit);
      conn.idle = true;
      if (stopping) co_return;
      stream.expires_after(opt.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
      conn.idle = false;
      if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == beast::error::timeout ||
          ec == net::error::connection_reset || ec == net::error::eof)
        co_return;
      if (ec) {
        co_await write_error(stream, 11, Response::error(400, "invalid_argument", "malformed HTTP request: " + ec.message()));
        co_return;
      }
      auto& head = parser.get();
      const unsigned version = head.version();
      std::string_view target(head.target().data(), head.target().size());
      const bool is_import = head.method() == http::verb::post &&
                             (target.substr(0, 12) == "/api/import/" || target.substr(0, 19) == "/api/loop/manifests");
      const std::size_t limit = is_import ? opt.import_body_limit : opt.body_limit;
      if (parser.content_length() && *parser.content_length() > limit) {
        co_await refuse_body(stream, version, limit);
        co_return;
      }
      parser.body_limit(limit);
      if (!parser.is_done()) {
        if (iequals(std::string_view(head[http::field::expect].data(), head[http::field::expect].size()), "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, version};
          stream.expires_after(opt.write_timeout);
          co_await http::async_write(stream, cont, net::redirect_error(net::use_awaitable, ec));
          if (ec) co_return;
        }
        stream.expires_after(opt.read_timeout);
        co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
        if (ec == http::error::body_limit) {
          co_await refuse_body(stream, version, limit);
          co_return;
        }
        if (ec) co_return;
      }
      stream.expires_never();
      auto msg = parser.release();
      const bool keep_alive = msg.keep_alive();
      const bool is_head = msg.method() == http::verb::head;
      const auto t0 = std::chrono::steady_clock::now();
      std::string ip = peer_ip;
      if (!trusted_proxies.empty()) {
        std::string xff;
        auto [from, to] = msg.equal_range("X-Forwarded-For");
        for (auto it = from; it != to; ++it) {
          if (!xff.empty()) xff += ',';
          xff.append(it->value().data(), it->value().size());
        }
        ip = client_address(peer_ip, xff, trusted_proxies);
      }
      Request req = to_request(msg, ip);
      bool api = false;
      std::int64_t user_id = 0;
      std::string_view route;
      Response res = co_await answer(req, api, route, user_id);
      if (api && !is_head && res.status == 200 && req.route == kAlertStreamRoute) {
        co_await event_stream(stream, conn, std::move(req), std::move(res), t0, user_id);
        co_return;
      }
      const int status = res.status;
      const bool keep = keep_alive && !stopping;
      auto out = to_message(std::move(res), version, keep, is_head, api);
      stream.expires_after(opt.write_timeout);
      co_await http::async_write(stream, out, net::redirect_error(net::use_awaitable, ec));
      record(req, route, status, t0, user_id);
      if (ec || !keep) co_return;
    }
  }

  void connection_ended(std::uint64_t id) {
    std::lock_guard lock(conns_mu);
    conns.erase(id);
    if (stopping && conns.empty()) net::post(control, [this] { grace.cancel(); });
  }

  static net::awaitable<void> listen(Impl* self) {
    for (;;) {
      boost::system::error_code ec;
      net::io_context& loop = self->loop_for_next_connection();
      tcp::socket socket(loop);
      co_await self->acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (self->stopping || ec == net::error::operation_aborted) co_return;
      if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
        net::steady_timer pause(self->control, std::chrono::milliseconds(50));
        co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Conn>();
      conn->strand = socket.get_executor();
      std::uint64_t id = 0;
      {
        std::lock_guard lock(self->conns_mu);
        id = self->next_conn++;
        self->conns.emplace(id, conn);
      }
      auto ex = socket.get_executor();
      net::co_spawn(ex, session(self, std::move(socket), conn, id), net::detached);
    }
  }

  net::io_context& loop_for_next_connection() {
    const std::size_t n = more_io.size() + 1;
    const std::size_t k = next_loop++ % n;
    return k == 0 ? ioc : *more_io[k - 1];
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    if (index_warmer) index_warmer->request_stop();  // a trace waiting for the index goes on
    net::post(control, [this] {
      spdlog::info("stopping: no new connections; finishing requests in flight");
      boost::system::error_code ec;
      acceptor.close(ec);
      signals.cancel(ec);
      more_io_guards.clear();  // the other loops end when their connections have
      std::vector<std::shared_ptr<Conn>> open;
      {
        std::lock_guard lock(conns_mu);
        for (auto& [id, c] : conns) open.push_back(c);
      }
      for (auto& c : open)
        net::post(c->strand, [c] {
          if (c->idle && c->stream) c->stream->cancel();
        });
      if (open.empty()) return;
      grace.expires_after(opt.shutdown_grace);
      grace.async_wait([this](boost::system::error_code wait_ec) {
        if (wait_ec) return;  // cancelled: every connection finished in time
        spdlog::warn("shutdown grace period over; closing the remaining connections");
        std::lock_guard lock(conns_mu);
        for (auto& entry : conns)
          net::post(entry.second->strand, [c = entry.second] {  // clang 14 cannot capture a structured binding
            if (c->stream) c->stream->cancel();
          });
      });
    });
  }
};

Server::Server(ServerOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {}

Server::~Server() {
  if (impl_->started) {
    stop();
    wait();
  }
}

void Server::start() {
  auto& s = *impl_;
  if (s.started) fail(ErrorCode::internal, "server already started");
  if (!s.opt.db_url.starts_with("postgres")) {
    s.serve_lock.emplace(store::sqlite_path_of(s.opt.db_url), store::ServeLock::Mode::shared);
    // Before any other connection of the server is opened (they leave checkpoints to it).
    s.checkpointer = std::make_unique<store::WalCheckpointer>(store::sqlite_path_of(s.opt.db_url));
  }
  // Opens (and migrates) the database once up front, so a wrong URL fails here.
  std::unique_ptr<store::Repository> first = store::open_repository(s.opt.db_url);
  s.services.local_time = store::local_time_of(*first);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(s.opt.host, ec);
  if (ec) fail(ErrorCode::invalid_argument, "not an IP address: " + s.opt.host, "host");
  tcp::endpoint ep(addr, s.opt.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ErrorCode::unavailable, "cannot listen on " + s.opt.host + ":" + std::to_string(s.opt.port) + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();

  if (s.opt.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([this](boost::system::error_code wait_ec, int sig) {
      if (wait_ec) return;
      spdlog::info("signal {} received", sig);
      impl_->begin_stop();
    });
  }

  if (!s.opt.access_log.empty()) s.access_log = std::make_unique<AccessLog>(s.opt.access_log);
  s.start_loop();
  s.job_runner = std::make_unique<jobs::Runner>(jobs::RunnerOptions{s.opt.db_url, s.services.clock, s.opt.job_threads});
  // Import runs a stopped process left half-written are put back before new jobs start.
  add_import_job_kinds(*s.job_runner, s.services.clock);
  add_nat_job_kinds(*s.job_runner, s.services);
  s.job_runner->add_recovery([clock = s.services.clock](store::Repository& repo) {
    if (int n = ingest::roll_back_unfinished_runs(repo, clock->now()))
      spdlog::warn("{} unfinished import runs were rolled back", n);
  });
  s.job_runner->start();
  s.services.jobs = s.job_runner.get();
  s.audit_writer.start();
  // The tracing settings once now (not on the first tracing request), so that the scan log's
  // index loads in the background while the server already answers.
  {
    std::lock_guard lock(s.services.loop_settings_mu);
    s.services.case_settings = std::make_shared<const cases::Settings>(cases::read_settings(*first));
  }
  if (auto index = s.services.case_settings->scan_index) {
    s.index_warmer = std::make_unique<cases::IndexWarmer>(
        index, [url = s.opt.db_url] { return store::open_repository(url); }, *s.services.clock);
    s.index_warmer->start();
    auto* w = s.index_warmer.get();
    s.watches.push_back(metrics::watch("bihuan_scan_index_warming", "1 while the scan log's index loads after the start",
                                       {}, [w] { return w->state() == cases::IndexWarmer::State::warming ? 1.0 : 0.0; }));
    s.watches.push_back(metrics::watch("bihuan_scan_index_warm_rows_read",
                                       "Rows of the scan log read by the index's load after the start", {},
                                       [w] { return static_cast<double>(w->rows_read()); }));
    s.watches.push_back(metrics::watch("bihuan_scan_index_rows", "Visits held by the scan log's index", {},
                                       [index, w] {
                                         // (the load holds the index: no waiting for it here)
                                         if (w->state() == cases::IndexWarmer::State::warming) return 0.0;
                                         return static_cast<double>(index->stats().rows);
                                       }));
  }
  s.watches.push_back(metrics::watch("bihuan_audit_queue_depth", "Audit records waiting for their group commit", {},
                                     [w = &s.audit_writer] { return static_cast<double>(w->queued()); }));
  s.hash_pool = std::make_unique<net::thread_pool>(static_cast<std::size_t>(std::max(1, s.opt.hash_threads)));
  s.pool_guard.emplace(s.pool.get_executor());
  const int workers = std::max(1, s.opt.db_threads);
  for (int i = 0; i < workers; ++i) {
    std::unique_ptr<store::Repository> repo = i == 0 ? std::move(first) : nullptr;
    s.pool_threads.emplace_back([this, r = std::move(repo)]() mutable {
      tl_repo = &r;
      impl_->pool.run();
      tl_repo = nullptr;
    });
  }
  if (s.checkpointer) {
    s.checkpoint_stop = false;
    s.checkpoint_thread = std::thread([this] {
      auto& self = *impl_;
      std::unique_lock lock(self.checkpoint_mu);
      while (!self.checkpoint_stop) {
        self.checkpoint_cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return self.checkpoint_stop; });
        lock.unlock();
        try {
          self.checkpointer->passive();
        } catch (const std::exception& e) {
          spdlog::warn("WAL checkpoint failed (tried again): {}", e.what());
        }
        lock.lock();
      }
    });
  }
  if (!s.opt.notify_gateway.empty()) notify::parse_gateway_url(s.opt.notify_gateway);  // a clear error at start
  s.services.notify_gateway = s.opt.notify_gateway;
  s.notify_stop = false;
  s.notify_thread = std::thread([this] { impl_->notify_loop(); });
  s.alert_stop = false;
  s.alert_thread = std::thread([this] { impl_->alert_poll_loop(); });
  if (s.opt.purge_daily) {
    s.purge_stop = false;
    s.purge_thread = std::thread([this] { impl_->purge_loop(); });
  }
  net::co_spawn(s.control, Impl::listen(&s), net::detached);
  const int io = std::max(1, s.opt.io_threads);
  for (int i = 1; i < io; ++i) {
    s.more_io.push_back(std::make_unique<net::io_context>(1));
    s.more_io_guards.push_back(net::make_work_guard(*s.more_io.back()));
  }
  const bool inline_audit = !s.opt.db_url.starts_with("postgres");
  s.audit_queue_main = inline_audit ? store::sqlite_file_of_url(s.opt.db_url) : std::string();
  if (!s.audit_queue_main.empty()) {
    s.audit_move_stop = false;
    s.audit_move_thread = std::thread([this] { impl_->audit_move_loop(); });
  }
  for (int i = 0; i < io; ++i)
    s.io_threads.emplace_back([this, i, inline_audit] {
      auto& self = *impl_;
      net::io_context& loop = i == 0 ? self.ioc : *self.more_io[static_cast<std::size_t>(i - 1)];
      std::unique_ptr<store::Repository> r;  // for quick requests and audit commits, opened on first use
      tl_repo = &r;
      HeldReadsTimer held_reads(loop, r);
      tl_held_reads = &held_reads;
      std::optional<ScanBatch> scans;
      std::optional<ScanDoor> door;
      if (inline_audit) {
        scans.emplace(loop, r);
        tl_scan_batch = &*scans;
        door.emplace(self.services);
        tl_scan_door = &*door;
      }
      std::unique_ptr<store::AuditQueue> queue;  // this thread's segment of the audit queue
      std::optional<InlineAuditCommit> commit;
      if (inline_audit) {
        commit.emplace(
            loop,
            [this, &r, &queue](const std::vector<store::AuditRecord>& records) {
              const auto& main = impl_->audit_queue_main;
              if (main.empty()) {
                if (!r) r = store::open_repository(impl_->opt.db_url);
                r->append_audit_batch(records);
                return;
              }
              try {
                if (!queue) queue = std::make_unique<store::AuditQueue>(main);
                queue->append(records);
              } catch (...) {
                queue.reset();  // opened again for the next group
                throw;
              }
            },
            self.audit_writer.queued_counter());
        tl_inline_audit = &*commit;
      }
      loop.run();
      held_reads.end();
      tl_held_reads = nullptr;
      tl_inline_audit = nullptr;
      tl_scan_batch = nullptr;
      tl_scan_door = nullptr;
      tl_repo = nullptr;
    });
  s.started = true;
  spdlog::info("bihuan listening on http://{}:{} ({} I/O threads, {} database workers, {})", s.opt.host,
               s.bound_port, io, workers, s.opt.web_dir.empty() ? "no console" : "console from " + s.opt.web_dir);
}

unsigned short Server::port() const { return impl_->bound_port; }

void Server::stop() { impl_->begin_stop(); }

void Server::wait() {
  auto& s = *impl_;
  for (auto& t : s.io_threads)
    if (t.joinable()) t.join();
  if (s.index_warmer) s.index_warmer->stop();
  if (s.watcher) s.watcher->stop();
  if (s.notify_thread.joinable()) {
    {
      std::lock_guard lock(s.notify_mu);
      s.notify_stop = true;
    }
    s.notify_cv.notify_all();
    s.notify_thread.join();
  }
  if (s.alert_thread.joinable()) {
    {
      std::lock_guard lock(s.alert_mu);
      s.alert_stop = true;
    }
    s.alert_cv.notify_all();
    s.alert_thread.join();
  }
  if (s.purge_thread.joinable()) {
    {
      std::lock_guard lock(s.purge_mu);
      s.purge_stop = true;
    }
    s.purge_cv.notify_all();
    s.purge_thread.join();
  }
  if (s.job_runner) s.job_runner->stop();
  s.audit_writer.stop();
  if (s.audit_move_thread.joinable()) {
    {
      std::lock_guard lock(s.audit_move_mu);
      s.audit_move_stop = true;
    }
    s.audit_move_cv.notify_all();
    s.audit_move_thread.join();
  }
  if (s.checkpoint_thread.joinable()) {
    {
      std::lock_guard lock(s.checkpoint_mu);
      s.checkpoint_stop = true;
    }
    s.checkpoint_cv.notify_all();
    s.checkpoint_thread.join();
  }
  s.checkpointer.reset();
  s.pool_guard.reset();
  for (auto& t : s.pool_threads)
    if (t.joinable()) t.join();
  if (s.hash_pool) {
    s.hash_pool->join();
    s.hash_pool.reset();
  }
  s.io_threads.clear();
  s.pool_threads.clear();
  s.serve_lock.reset();
  s.watches.clear();
  if (s.access_log) s.access_log->flush();
  if (s.started.exchange(false)) spdlog::info("bihuan stopped");
}

Services& Server::services() { return impl_->services; }
const Router& Server::router() const { return impl_->router; }

}  // namespace bihuan::api
