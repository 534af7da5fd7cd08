// bihuan enterprise import: register enterprises with their sites and staff rosters from a CSV
// file (docs/API-enterprise.md), all or nothing, as the local administrator.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "enterprise/service.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("enterprise", "Work resumption (复工复产): enterprises and their staff");
  cmd->require_subcommand(1);
  static std::string db = kDefaultDb, policies, file;
  auto* imp = cmd->add_subcommand("import", "Register enterprises, sites and staff rosters from CSV (all or nothing)");
  imp->add_option("--db", db, "database URL")->capture_default_str();
  imp->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  imp->add_option("file", file, "CSV: code,name,area_code,address,industry,white_list,site,site_address,"
                                "site_area_code,doc_number,post,shift")
      ->required();
  imp->callback([] {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(ErrorCode::invalid_argument, "cannot read " + file, "file");
    std::stringstream text;
    text << in.rdbuf();
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service loop(*repo, profiles, clock);
    nat::Service nat(*repo, loop, nullptr, clock);
    enterprise::Service svc(*repo, loop, nat, clock, store::local_time_of(*repo));
    const char* user = std::getenv("USER");
    auto rep = svc.import_csv(text.str(), Caller::local(std::string("cli:") + (user ? user : "unknown")));
    if (!rep.errors.empty()) {
      for (const auto& e : rep.errors)
        std::cerr << file << ":" << e.row << (e.field.empty() ? "" : " " + e.field) << ": " << e.reason << "\n";
      fail(ErrorCode::invalid_argument, std::to_string(rep.errors.size()) + " rows refused; nothing was imported", "file");
    }
    std::cout << "imported " << rep.enterprises << " enterprises with " << rep.staff << " staff\n";
  });
});

}  // namespace
}  // namespace bihuan::app
