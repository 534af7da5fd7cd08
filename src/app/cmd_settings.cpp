// bihuan settings get KEY / settings set KEY VALUE: the deployment's key/value settings
// (deployment.time_zone, loop.*_minutes, ...). Values of known keys are checked before they
// are stored.
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct SettingsArgs {
  std::string db = kDefaultDb;
  std::string key, value;
};

void check_value(const std::string& key, const std::string& value) {
  if (key == store::kTimeZoneSetting && !parse_local_time(value))
    fail(ErrorCode::invalid_argument, "not a known time zone or UTC offset: " + value, "value");
}

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<SettingsArgs>();
  auto* cmd = app.add_subcommand("settings", "Read or change a deployment setting (e.g. deployment.time_zone)");
  cmd->require_subcommand(1);
  auto* get = cmd->add_subcommand("get", "Print a setting's value (exit 3 when it is not set)");
  get->add_option("key", a->key, "setting key")->required();
  get->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  get->callback([a] {
    auto repo = store::open_repository(a->db);
    if (a->key == store::kTimeZoneSetting) {
      const LocalTime t = store::local_time_of(*repo);
      std::cout << t.zone << " (UTC" << t.offset_text() << ")\n";
      return;
    }
    auto v = repo->setting(a->key);
    if (!v) fail(ErrorCode::not_found, "setting " + a->key + " is not set", "key");
    std::cout << *v << "\n";
  });
  auto* set = cmd->add_subcommand("set", "Store a setting (read by `serve` when it starts)");
  set->add_option("key", a->key, "setting key")->required();
  set->add_option("value", a->value, "value")->required();
  set->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  set->callback([a] {
    check_value(a->key, a->value);
    auto repo = store::open_repository(a->db);
    repo->set_setting(a->key, a->value);
  });
});

}  // namespace
}  // namespace bihuan::app
