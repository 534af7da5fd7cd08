// bihuan purge [--dry-run] [--json] --db URL      retention purge now (audited as `cli`)
// bihuan backup DEST [--force] [--json] --db URL  consistent copy of a live SQLite database
// bihuan restore SRC [--force] [--json] --db URL  bring a copy back (refused while a server runs)
// Progress goes to stderr, and only on a terminal; with --json stdout is one JSON document.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "store/backup.hpp"
#include "store/repository.hpp"
#include "store/retention.hpp"

namespace bihuan::app {
namespace {

using nlohmann::json;

struct Args {
  std::string db = kDefaultDb;
  std::string path;
  bool dry_run = false;
  bool force = false;
  bool json = false;
};

void bar(double share) {
  const int pct = static_cast<int>(share * 100);
  const int width = 40, filled = pct * width / 100;
  std::fprintf(stderr, "\r[%s%s] %3d%%", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), pct);
  std::fflush(stderr);
}

void run_purge(const Args& a) {
  auto repo = store::open_repository(a.db);
  store::PurgeOptions o;
  o.dry_run = a.dry_run;
  o.username = "cli";
  o.trigger = "cli";
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (tty) o.progress = bar;
  const auto rep = store::purge(*repo, store::retention_settings(*repo), SystemClock{}.now(), o);
  if (tty) std::fprintf(stderr, "\n");
  if (a.json) {
    std::cout << store::purge_report_json(rep) << "\n";
    return;
  }
  std::cout << (rep.dry_run ? "would delete (dry run):\n" : "deleted:\n");
  for (const auto& [table, n] : rep.rows) std::cout << "  " << table << ": " << n << "\n";
  std::cout << "total: " << rep.total() << "\n";
}

void print_copy(const Args& a, const char* what, const std::string& file, const store::CopyReport& r) {
  if (a.json) {
    std::cout << json{{"file", file}, {"pages", r.pages}, {"bytes", r.bytes}, {"schema_version", r.schema_version}}.dump()
              << "\n";
    return;
  }
  std::cout << what << " " << file << ": " << r.pages << " pages, " << r.bytes << " bytes, schema version "
            << r.schema_version << ", integrity ok\n";
}

void run_backup(const Args& a) {
  store::BackupOptions o;
  o.overwrite = a.force;
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (tty)
    o.progress = [](std::int64_t done, std::int64_t total) { bar(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0); };
  const auto r = store::backup_sqlite(store::sqlite_path_of(a.db), a.path, o);
  if (tty) std::fprintf(stderr, "\n");
  print_copy(a, "backed up to", a.path, r);
}

void run_restore(const Args& a) {
  const auto target = store::sqlite_path_of(a.db);
  const auto r = store::restore_sqlite(a.path, target, a.force);
  print_copy(a, "restored into", target, r);
}

const bool registered = add_command([](CLI::App& app) {
  {
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("purge", "Delete personal data past its retention period (audited)");
    cmd->add_option("--db", args->db, "database URL")->capture_default_str();
    cmd->add_flag("--dry-run", args->dry_run, "count what would be deleted, delete nothing");
    cmd->add_flag("--json", args->json, "print the report as JSON");
    cmd->callback([args] { run_purge(*args); });
  }
  {
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("backup", "Copy a live SQLite database consistently (online backup API)");
    cmd->add_option("dest", args->path, "file to write")->required();
    cmd->add_option("--db", args->db, "database URL (sqlite:PATH)")->capture_default_str();
    cmd->add_flag("--force", args->force, "replace DEST if it exists");
    cmd->add_flag("--json", args->json, "print the result as JSON");
    cmd->callback([args] { run_backup(*args); });
  }
  {
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("restore", "Bring a backup back (refused while a server holds the database)");
    cmd->add_option("src", args->path, "backup file")->required();
    cmd->add_option("--db", args->db, "database URL (sqlite:PATH)")->capture_default_str();
    cmd->add_flag("--force", args->force, "replace a database that holds data");
    cmd->add_flag("--json", args->json, "print the result as JSON");
    cmd->callback([args] { run_restore(*args); });
  }
});

}  // namespace
}  // namespace bihuan::app
