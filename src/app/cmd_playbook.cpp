// bihuan playbook check: validates the emergency-response playbooks and levels of a directory
// (docs/API-response.md) and prints each playbook's trigger and clocks; errors name the file,
// line and key, and the exit code is non-zero.
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "response/service.hpp"

namespace bihuan::app {
namespace {

const bool registered = add_command([](CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("playbook", "Emergency-response playbooks (应急预案)");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "Validate the playbooks and levels.yaml of a directory and print their clocks");
  check->add_option("--dir", *dir, "playbooks directory (default: share/bihuan/playbooks, else the source tree)");
  check->callback([dir] {
    response::Library lib(data_dir(DataDir::playbooks, *dir));
    std::cout << lib.dir() << ": " << lib.playbooks().size() << " playbooks, " << lib.levels().size() << " levels\n";
    for (const auto& p : lib.playbooks()) {
      std::cout << "\n" << p.id << " (" << p.file << "): " << p.title << "; trigger " << to_string(p.trigger.kind)
                << (p.level.empty() ? "" : ", proposes level " + p.level) << "\n";
      for (const auto& t : p.tasks) {
        std::cout << "  " << (t.due_minutes % 60 == 0 ? std::to_string(t.due_minutes / 60) + " h" : std::to_string(t.due_minutes) + " min")
                  << "\t" << to_string(t.owner) << "\t" << t.key << "\t" << t.title;
        if (!t.after.empty()) {
          std::cout << " (after";
          for (const auto& a : t.after) std::cout << " " << a;
          std::cout << ")";
        }
        std::cout << " [" << t.confidence << "]\n";
      }
    }
  });
});

}  // namespace
}  // namespace bihuan::app
