// bihuan chains import: published infector -> infectee pairs loaded as cases and links of an area
// (a test deployment), so that the chain graph and the chain statistics run on them
// (src/cases/published.hpp; the API's POST /api/chains/import runs the same as a job).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "app/commands.hpp"
#include "cases/published.hpp"
#include "core/error.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct ChainsArgs {
  std::string db = kDefaultDb;
  std::string file, format = "du2020", area;
  bool json = false;
};

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<ChainsArgs>();
  auto* cmd = app.add_subcommand("chains", "Transmission chains (传播链)");
  cmd->require_subcommand(1);
  auto* imp = cmd->add_subcommand(
      "import", "Load published infector -> infectee pairs as cases and links of an area (all or nothing)");
  imp->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  imp->add_option("--file", a->file, "the CSV file")->required();
  imp->add_option("--format", a->format, "du2020 (Du et al. 2020 Table S5, default) or pairs");
  imp->add_option("--area", a->area, "area code the cases are registered in")->required();
  imp->add_flag("--json", a->json, "print the report as JSON");
  imp->callback([a] {
    std::ifstream in(a->file, std::ios::binary);
    if (!in) fail(ErrorCode::invalid_argument, "cannot read " + a->file, "file");
    std::stringstream text;
    text << in.rdbuf();
    const auto chains = cases::parse_published(a->format, text.str());
    auto repo = store::open_repository(a->db);
    const char* user = std::getenv("USER");
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto rep = cases::import_published(*repo, chains, a->area, Caller::local(std::string("cli:") + (user ? user : "unknown")),
                                       SystemClock{}.now(), [tty](double f) {
                                         if (tty) std::cerr << "\rchains: " << static_cast<int>(f * 100) << " %" << std::flush;
                                       });
    if (tty) std::cerr << "\n";
    const auto& si = rep.serial_interval;
    if (a->json) {
      std::cout << "{\"dataset\":\"" << chains.dataset << "\",\"persons\":" << rep.persons << ",\"cases\":" << rep.cases
                << ",\"links\":" << rep.links << ",\"clusters\":" << rep.clusters << ",\"serial_interval\":{\"pairs\":" << si.n
                << ",\"mean_days\":" << si.mean << ",\"sd_days\":" << si.sd << "}}\n";
    } else {
      std::cout << chains.dataset << ": " << rep.cases << " cases, " << rep.links << " links, " << rep.clusters
                << " clusters in area " << a->area << "; serial interval over " << si.n << " pairs: mean " << si.mean
                << " d, sd " << si.sd << " d\n";
    }
  });
  return true;
});

}  // namespace
}  // namespace bihuan::app
