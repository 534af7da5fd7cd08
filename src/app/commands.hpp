#pragma once
// Subcommand registry of the `bihuan` executable. Each cmd_*.cpp file adds its subcommands at
// static-initialisation time:
//   static const bool registered = bihuan::app::add_command([](CLI::App& app) { ... });
// A subcommand's callback throws bihuan::Error for expected failures; main() prints the message
// and exits with exit_code(error.code()).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace bihuan::app {

using CommandSetup = std::function<void(CLI::App&)>;
bool add_command(CommandSetup setup);

// Database URL default shared by every subcommand: sqlite:var/bihuan.db
inline const char* kDefaultDb = "sqlite:var/bihuan.db";

// `bihuan policy switch` (cmd_loop.cpp), added to the policy command by cmd_policy.cpp.
void add_policy_switch(CLI::App* policy_cmd);
// `bihuan supply stations-demo` (cmd_supply_stations.cpp), added to the supply command by cmd_supply.cpp.
void add_supply_stations(CLI::App* supply_cmd);

}  // namespace bihuan::app
