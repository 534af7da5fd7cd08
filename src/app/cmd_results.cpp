// bihuan results import FILE --db URL --lab CODE [--json]
// A lab's results file (CSV with Chinese or English columns, UTF-8 or GB18030, or HL7 FHIR R4
// JSON: an Observation, a DiagnosticReport, a Bundle) taken through the same intake as the API,
// acting as that lab (audited as cli:USER). Valid rows are taken and invalid ones reported; exit
// 0 when every row was taken, 2 when any was rejected.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read " + path, "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Opts {
  std::string file, db = kDefaultDb, lab, policies;
  bool as_json = false;
};

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("results", "Lab results (核酸检测结果): import a lab's CSV or FHIR file");
  cmd->require_subcommand(1);
  static Opts o;
  auto* imp = cmd->add_subcommand("import", "Take a lab's results file, acting as that lab");
  imp->add_option("FILE", o.file, "CSV or FHIR JSON file")->required();
  imp->add_option("--db", o.db, "database URL")->capture_default_str();
  imp->add_option("--lab", o.lab, "code of the lab organisation")->required();
  imp->add_option("--policies", o.policies, "directory of policy profiles");
  imp->add_flag("--json", o.as_json, "print {accepted, rejected, errors} as JSON");
  imp->callback([] {
    auto repo = store::open_repository(o.db);
    auto lab = repo->org_by_code(o.lab);
    if (!lab || lab->kind != OrgKind::lab) fail(ErrorCode::not_found, "no lab with code " + o.lab, "lab");
    const std::string body = read_file(o.file);
    loop::Profiles profiles(data_dir(DataDir::policies, o.policies));
    SystemClock clock;
    loop::Service loop(*repo, profiles, clock);
    nat::Service svc(*repo, loop, nullptr, clock);
    const char* user = std::getenv("USER");
    Caller c;
    c.username = std::string("cli:") + (user ? user : "unknown") + "@" + lab->code;
    c.role = Role::lab;
    c.scope = Scope::org(lab->id);
    auto file = nat::parse_result_file(body, svc.settings().local);
    const bool tty = !o.as_json && isatty(STDERR_FILENO) != 0;
    auto rep = svc.post_results(file.items, lab->id, file.channel, c, [tty](std::size_t done, std::size_t total) {
      if (tty) std::cerr << "\r" << done << " / " << total << " results" << std::flush;
    });
    if (tty) std::cerr << "\n";
    rep.rejected += static_cast<std::int64_t>(file.errors.size());
    rep.errors.insert(rep.errors.end(), file.errors.begin(), file.errors.end());
    std::stable_sort(rep.errors.begin(), rep.errors.end(), [](const nat::ResultError& a, const nat::ResultError& b) {
      return a.row != b.row ? a.row < b.row : a.index < b.index;
    });
    if (o.as_json) {
      std::cout << nat::report_json(rep, false) << "\n";
    } else {
      std::cout << "results from " << lab->name << " (" << file.channel << "): " << rep.accepted << " taken ("
                << rep.duplicates << " already recorded), " << rep.rejected << " rejected; " << rep.positive_pools
                << " positive pools, " << rep.cases_opened << " cases opened, " << rep.retest_tasks << " re-tests\n";
      for (const auto& e : rep.errors)
        std::cout << "  " << (e.index >= 0 ? "entry " + std::to_string(e.index) : "row " + std::to_string(e.row)) << " "
                  << e.column << (e.value.empty() ? "" : " '" + e.value + "'") << ": " << e.reason << "\n";
    }
    std::cout.flush();
    if (rep.rejected > 0)
      fail(ErrorCode::invalid_argument, std::to_string(rep.rejected) + " results rejected (the valid ones were taken)");
  });
});

}  // namespace
}  // namespace bihuan::app
