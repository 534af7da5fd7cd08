// bihuan serve --db URL --host H --port P --threads N --db-threads M --web DIR
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "api/server.hpp"
#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"

namespace bihuan::app {
namespace {

struct ServeArgs {
  std::string db = kDefaultDb;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  int db_threads = 0;
  std::string web;
  bool no_web = false;
  std::size_t body_limit_kib = 1024;
  std::string policies;  // "" = share/bihuan/policies or the source tree (data_dirs.hpp)
  std::string playbooks;  // "" = share/bihuan/playbooks or the source tree
  int bulletin_hour = 8;
  std::string code_key = "var/code-signing";
  int handover_deadline_minutes = -1;  // -1 = the per-stage defaults
  bool no_purge = false;
  int hash_threads = 2;
  std::string access_log;
  std::vector<std::string> trusted_proxies;
  std::vector<std::string> metrics_from;
  std::string notify_gateway;
};

void run_serve(const ServeArgs& a) {
  if (a.port < 0 || a.port > 65535) fail(ErrorCode::invalid_argument, "port must be 0..65535", "port");
  api::ServerOptions o;
  o.db_url = a.db;
  o.host = a.host;
  o.port = static_cast<unsigned short>(a.port);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.io_threads = a.threads > 0 ? a.threads : cores;
  o.db_threads = a.db_threads > 0 ? a.db_threads : std::max(4, 2 * cores);
  if (a.no_web) {
    o.web_dir.clear();
  } else {
    o.web_dir = data_dir(DataDir::web, a.web);
    std::error_code ec;
    if (a.web.empty() && !std::filesystem::exists(std::filesystem::path(o.web_dir) / "index.html", ec)) {
      spdlog::warn("no built console found ({}): serving the API only (build it with scripts/build-web.sh)", o.web_dir);
      o.web_dir.clear();
    }
  }
  o.body_limit = a.body_limit_kib * 1024;
  o.handle_signals = true;
  o.policies_dir = data_dir(DataDir::policies, a.policies);
  o.playbooks_dir = data_dir(DataDir::playbooks, a.playbooks);
  o.bulletin_hour = a.bulletin_hour;
  o.code_key = a.code_key;
  if (a.handover_deadline_minutes >= 0) o.handover_deadline = std::chrono::minutes{a.handover_deadline_minutes};
  o.purge_daily = !a.no_purge;
  o.hash_threads = a.hash_threads;
  o.access_log = a.access_log;
  o.trusted_proxies = a.trusted_proxies;
  if (!a.metrics_from.empty()) o.metrics_from = a.metrics_from;
  o.notify_gateway = a.notify_gateway;
  // The gateway's token comes from the environment, not the command line (visible in ps).
  if (const char* t = std::getenv("BIHUAN_NOTIFY_TOKEN")) o.notify_token = t;
  api::Server server(o);
  server.start();
  server.wait();
}

const bool registered = add_command([](CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Run the HTTP API and the console");
  cmd->add_option("--db", args->db, "database URL (sqlite:PATH or postgresql://...)")->capture_default_str();
  cmd->add_option("--host", args->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "port (0 = any free port)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "I/O threads (default: cores)");
  cmd->add_option("--db-threads", args->db_threads, "database worker threads (default: max(4, 2*cores))");
  cmd->add_option("--web", args->web,
                  "directory of the built console (default: share/bihuan/web of the installation, else web/dist of "
                  "the source tree)");
  cmd->add_flag("--no-web", args->no_web, "serve the API only, no console");
  cmd->add_option("--body-limit-kib", args->body_limit_kib, "request body limit in KiB (imports: 64 MiB)")
      ->capture_default_str();
  cmd->add_option("--policies", args->policies,
                  "directory of policy profiles (closed-loop management; default: share/bihuan/policies, else the "
                  "source tree)");
  cmd->add_option("--playbooks", args->playbooks,
                  "directory of emergency-response playbooks and levels.yaml (default: share/bihuan/playbooks, else "
                  "the source tree)");
  cmd->add_option("--bulletin-hour", args->bulletin_hour,
                  "local hour at which yesterday's daily bulletin is drafted (-1 = only by hand)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 23));
  cmd->add_option("--code-key", args->code_key, "health-code key prefix (PREFIX.secret/.pub, created on first use)")
      ->capture_default_str();
  cmd->add_option("--handover-deadline-minutes", args->handover_deadline_minutes,
                  "every handover acknowledgement deadline in minutes (0 = overdue at once; default: per stage)")
      ->check(CLI::Range(0, 7 * 24 * 60));
  cmd->add_flag("--no-purge", args->no_purge,
                "do not run the daily retention purge (settings: GET /api/settings/retention)");
  cmd->add_option("--hash-threads", args->hash_threads, "password-hashing threads (Argon2id; not the database workers)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--access-log", args->access_log,
                  "access log file, one JSON line per request (\"-\" = standard output; default: none)");
  cmd->add_option("--trusted-proxy", args->trusted_proxies,
                  "a reverse proxy (CIDR) whose X-Forwarded-For names the client; repeatable")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--metrics-from", args->metrics_from,
                  "clients (CIDR) allowed to read GET /metrics; repeatable (default: 127.0.0.0/8 and ::1)")
      ->allow_extra_args(false);
  cmd->add_option("--notify-gateway", args->notify_gateway,
                  "HTTP gateway for SMS and app push (http://host:port/path; token in BIHUAN_NOTIFY_TOKEN; default: "
                  "none, messages stay queued)");
  cmd->callback([args] { run_serve(*args); });
});

}  // namespace
}  // namespace bihuan::app
