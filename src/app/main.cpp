#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "app/commands.hpp"
#include "core/error.hpp"

namespace bihuan::app {
namespace {
std::vector<CommandSetup>& registry() {
  static std::vector<CommandSetup> setups;
  return setups;
}
}  // namespace

bool add_command(CommandSetup setup) {
  registry().push_back(std::move(setup));
  return true;
}
}  // namespace bihuan::app

int main(int argc, char** argv) {
  CLI::App app{"bihuan (闭环): normalized epidemic prevention and control platform"};
  app.require_subcommand(1);
  for (const auto& setup : bihuan::app::registry()) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bihuan::Error& e) {
    std::fprintf(stderr, "error: %s%s%s\n", e.what(), e.field().empty() ? "" : " (field: ",
                 e.field().empty() ? "" : (e.field() + ")").c_str());
    return bihuan::exit_code(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
