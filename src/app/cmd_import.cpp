// bihuan import persons|households|venues|orgs FILE.csv --db URL [--valid-rows|--all-or-nothing]
//               [--encoding auto|utf-8|gb18030] [--report errors.csv] [--json]
// Exit 0: committed with no rejected rows; 2: rows were rejected (the first 20 are printed).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "ingest/import.hpp"
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

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot open " + path, "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Date today() {
  return Date{std::chrono::floor<std::chrono::days>(SystemClock{}.now())};
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
  opt.today = today();

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
  auto repo = store::open_repository(a.db);
  const auto rep = ingest::run_import(*repo, data, opt);
  if (tty) std::fprintf(stderr, "\n");

  if (!a.report.empty()) {
    std::ofstream out(a.report, std::ios::binary);
    if (!out) fail(ErrorCode::invalid_argument, "cannot write " + a.report, "report");
    out << ingest::errors_csv(rep);
  }
  if (a.json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : rep.errors)
      errors.push_back({{"row", e.row}, {"column", e.column}, {"value", e.value}, {"reason", e.reason}});
    nlohmann::json j = {{"kind", ingest::to_string(rep.kind)}, {"mode", ingest::to_string(rep.mode)},
                        {"total_rows", rep.total_rows},       {"accepted", rep.accepted},
                        {"rejected", rep.rejected},           {"inserted", rep.stats.inserted},
                        {"updated", rep.stats.updated},       {"unchanged", rep.stats.unchanged},
                        {"committed", rep.committed},         {"errors", errors}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "import " << ingest::to_string(rep.kind) << " (" << ingest::to_string(rep.mode) << "): "
              << rep.total_rows << " rows, " << rep.accepted << " accepted, " << rep.rejected << " rejected; "
              << rep.stats.inserted << " inserted, " << rep.stats.updated << " updated, " << rep.stats.unchanged
              << " unchanged; " << (rep.committed ? "committed" : "nothing written") << "\n";
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
  }
  std::cout.flush();
  if (rep.rejected > 0)
    fail(ErrorCode::invalid_argument,
         std::to_string(rep.rejected) + " of " + std::to_string(rep.total_rows) + " rows rejected" +
             (rep.committed ? " (the valid rows were written)" : "; nothing was written"));
}

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "Import a CSV file (UTF-8 or GB18030) into the registry");
  cmd->add_option("kind", a->kind, "persons, households, venues or orgs")->required();
  cmd->add_option("file", a->file, "CSV file with a header row (Chinese or English column names)")->required();
  cmd->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  cmd->add_flag("--valid-rows", a->valid_rows, "write the valid rows and report the rest");
  cmd->add_flag("--all-or-nothing", a->all_or_nothing, "write nothing if any row is invalid (default)");
  cmd->add_option("--encoding", a->encoding, "auto, utf-8 or gb18030 (default auto)");
  cmd->add_option("--report", a->report, "write the rejected rows to this CSV file");
  cmd->add_flag("--json", a->json, "print the report as JSON");
  cmd->callback([a] { run(*a); });
});

}  // namespace
}  // namespace bihuan::app
