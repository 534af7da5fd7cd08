// bihuan import persons|households|venues|orgs FILE.csv --db URL [--valid-rows|--all-or-nothing]
//               [--encoding auto|utf-8|gb18030] [--report errors.csv] [--json]
// bihuan import undo RUN_ID --db URL [--reason TEXT] [--json]
// Exit 0: committed with no rejected rows; 2: rows were rejected (the first 20 are printed).
// Progress goes to stderr, and only when stderr is a terminal; with --json stdout carries
// exactly one JSON document (the report, or the undone run).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "ingest/import.hpp"
#include "ingest/report_json.hpp"
#include "store/import_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct ImportArgs {
  std::string kind;
  std::string file;
  std::string db = kDefaultDb;
  bool valid_rows = false;
  bool all_or_nothing = false;
  std::string encoding = "auto";
  std::string report;
  bool json = false;
};

struct UndoArgs {
  std::int64_t id = 0;
  std::string db = kDefaultDb;
  std::string reason;
  bool json = false;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot open " + path, "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Ctrl-C (or SIGTERM) during an import: the import stops at its next batch and puts back what
// it wrote, instead of leaving a half-written run.
std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

std::string cli_user() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user ? user : "unknown");
}

void run(const ImportArgs& a) {
  ingest::ImportOptions opt;
  if (!ingest::import_kind_from(a.kind, opt.kind))
    fail(ErrorCode::invalid_argument, "unknown import kind " + a.kind + " (persons, households, venues, orgs)", "kind");
  if (a.valid_rows && a.all_or_nothing)
    fail(ErrorCode::invalid_argument, "choose one of --valid-rows and --all-or-nothing", "mode");
  opt.mode = a.valid_rows ? ingest::ImportMode::valid_rows : ingest::ImportMode::all_or_nothing;
  if (a.encoding == "auto") opt.encoding = ingest::Encoding::auto_detect;
  else if (a.encoding == "utf-8" || a.encoding == "utf8") opt.encoding = ingest::Encoding::utf8;
  else if (a.encoding == "gb18030" || a.encoding == "gbk") opt.encoding = ingest::Encoding::gb18030;
  else fail(ErrorCode::invalid_argument, "unknown encoding " + a.encoding + " (auto, utf-8, gb18030)", "encoding");
  opt.file_name = a.file;

  const std::string data = read_all(a.file);
  const bool tty = isatty(STDERR_FILENO) != 0;
  int last_pct = -1;
  if (tty) {
    opt.progress = [&last_pct](std::uint64_t done, std::uint64_t total) {
      const int pct = total ? static_cast<int>(done * 100 / total) : 100;
      if (pct == last_pct) return;
      last_pct = pct;
      const int width = 40;
      const int filled = pct * width / 100;
      std::fprintf(stderr, "\r[%s%s] %3d%%", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), pct);
      std::fflush(stderr);
    };
  }
  opt.checkpoint = [] {
    if (interrupted) fail(ErrorCode::unavailable, "interrupted: nothing of the file was kept");
  };
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  auto repo = store::open_repository(a.db);
  // An earlier `bihuan import` killed before it could put back what it wrote (kill -9, power
  // loss) left its run `running`: roll it back before this one starts.
  if (int n = ingest::roll_back_unfinished_runs(*repo, SystemClock{}.now(), false))
    std::fprintf(stderr, "%d import runs left unfinished by a process that is gone were rolled back\n", n);
  opt.today = store::local_time_of(*repo).date_of(SystemClock{}.now());
  const auto rep = ingest::run_import(*repo, data, opt);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (tty) std::fprintf(stderr, "\n");

  store::AuditRecord audit;
  audit.at = SystemClock{}.now();
  audit.username = cli_user();
  audit.action = "import";
  audit.entity = "import_run";
  audit.entity_id = rep.run_id;
  audit.detail = nlohmann::json{{"kind", ingest::to_string(rep.kind)}, {"mode", ingest::to_string(rep.mode)},
                                {"file_name", a.file},                 {"total_rows", rep.total_rows},
                                {"accepted", rep.accepted},            {"rejected", rep.rejected},
                                {"conflicts", rep.conflicts.size()},   {"committed", rep.committed}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  repo->append_audit(audit);

  if (!a.report.empty()) {
    std::ofstream out(a.report, std::ios::binary);
    if (!out) fail(ErrorCode::invalid_argument, "cannot write " + a.report, "report");
    out << ingest::errors_csv(rep);
  }
  if (a.json) {
    std::cout << ingest::report_json(rep).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "import " << ingest::to_string(rep.kind) << " (" << ingest::to_string(rep.mode) << "), run "
              << rep.run_id << ": " << rep.total_rows << " rows, " << rep.accepted << " accepted, " << rep.rejected
              << " rejected; " << rep.stats.inserted << " inserted, " << rep.stats.updated << " updated, "
              << rep.stats.unchanged << " unchanged, " << rep.conflicts.size() << " identity conflicts; "
              << (rep.committed ? "committed" : "nothing written") << "\n";
    std::size_t shown = 0;
    for (const auto& e : rep.errors) {
      if (shown++ == 20) {
        std::cout << "... " << rep.errors.size() - 20 << " more errors" << (a.report.empty() ? " (use --report FILE)" : "")
                  << "\n";
        break;
      }
      std::cout << "row " << e.row << ", column " << (e.column.empty() ? "-" : e.column) << ", value "
                << (e.value.empty() ? "\"\"" : e.value) << ": " << e.reason << "\n";
    }
    shown = 0;
    for (const auto& e : rep.conflicts) {
      if (shown++ == 20) {
        std::cout << "... " << rep.conflicts.size() - 20 << " more identity conflicts (see the duplicates page)\n";
        break;
      }
      std::cout << "row " << e.row << ", column " << e.column << ": " << e.reason << "\n";
    }
  }
  std::cout.flush();
  if (rep.rejected > 0)
    fail(ErrorCode::invalid_argument,
         std::to_string(rep.rejected) + " of " + std::to_string(rep.total_rows) + " rows rejected" +
             (rep.committed ? " (the valid rows were written)" : "; nothing was written"));
}

void undo(const UndoArgs& a) {
  auto repo = store::open_repository(a.db);
  const Instant now = SystemClock{}.now();
  store::AuditRecord audit;
  audit.at = now;
  audit.username = cli_user();
  audit.action = "import.undo";
  audit.reason = a.reason;
  if (auto before = store::open_import_repository(*repo)->run(a.id))
    audit.detail = nlohmann::json{{"kind", before->kind}, {"inserted", before->inserted}, {"updated", before->updated}}.dump();
  // One transaction with its audit record: undone whole, or not at all.
  const auto run = ingest::undo_import_run(*repo, a.id, 0, now, audit);
  if (a.json)
    std::cout << ingest::run_json(run).dump(2) << "\n";
  else
    std::cout << "import run " << run.id << " (" << run.kind << ", " << run.file_name << ") undone: " << run.inserted
              << " inserted rows deleted, " << run.updated << " changed rows restored\n";
}

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "Import a CSV file (UTF-8 or GB18030) into the registry, or undo an import run");
  cmd->add_option("kind", a->kind, "persons, households, venues or orgs");
  cmd->add_option("file", a->file, "CSV file with a header row (Chinese or English column names)");
  cmd->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  cmd->add_flag("--valid-rows", a->valid_rows, "write the valid rows and report the rest");
  cmd->add_flag("--all-or-nothing", a->all_or_nothing, "write nothing if any row is invalid (default)");
  cmd->add_option("--encoding", a->encoding, "auto, utf-8 or gb18030 (default auto)");
  cmd->add_option("--report", a->report, "write the rejected rows to this CSV file");
  cmd->add_flag("--json", a->json, "print the report as one JSON document");

  auto u = std::make_shared<UndoArgs>();
  auto* undo_cmd = cmd->add_subcommand("undo", "Undo an import run: restore the previous values, delete inserted rows");
  undo_cmd->add_option("id", u->id, "import run id (printed by the import, listed by GET /api/import/runs)")->required();
  undo_cmd->add_option("--db", u->db, "database URL (sqlite:PATH or postgresql://...)");
  undo_cmd->add_option("--reason", u->reason, "why (kept in the audit log)");
  undo_cmd->add_flag("--json", u->json, "print the undone run as one JSON document");
  undo_cmd->callback([u] { undo(*u); });

  cmd->callback([a, cmd] {
    if (cmd->got_subcommand("undo")) return;
    if (a->kind.empty() || a->file.empty())
      fail(ErrorCode::invalid_argument, "usage: bihuan import KIND FILE [options] | bihuan import undo RUN_ID", "kind");
    run(*a);
  });
});

}  // namespace
}  // namespace bihuan::app
