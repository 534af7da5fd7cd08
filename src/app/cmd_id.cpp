// bihuan id check ID   prints the parsed resident ID number as JSON, or the reason it is invalid.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/model.hpp"
#include "core/resident_id.hpp"

namespace bihuan::app {
namespace {

void check(const std::string& text, const std::string& zone) {
  auto local = parse_local_time(zone);
  if (!local) fail(ErrorCode::invalid_argument, "not a known time zone or UTC offset: " + zone, "time_zone");
  const Date today = local->date_of(SystemClock{}.now());
  const ResidentId id = parse_resident_id(text, today, "id");
  nlohmann::json j = {{"number", id.number},
                      {"birth_date", format_date(id.birth_date)},
                      {"sex", to_string(id.sex)},
                      {"region_code", id.region_code},
                      {"region_name", id.region_name},
                      {"warnings", id.warnings}};
  std::cout << j.dump(2) << "\n";
}

const bool registered = add_command([](CLI::App& app) {
  auto* id = app.add_subcommand("id", "Resident ID numbers (GB 11643)");
  id->require_subcommand(1);
  auto text = std::make_shared<std::string>();
  auto zone = std::make_shared<std::string>("Asia/Shanghai");
  auto* chk = id->add_subcommand("check", "Validate and parse a resident ID number; exit 2 if invalid");
  chk->add_option("number", *text, "18-digit (or 15-digit) resident ID number")->required();
  chk->add_option("--time-zone", *zone, "the deployment's time zone: today, for birth dates in the future")
      ->capture_default_str();
  chk->callback([text, zone] { check(*text, *zone); });
});

}  // namespace
}  // namespace bihuan::app
