// bihuan pool advise --prevalence P [--ratios 1,5,10,20] [--sensitivity S] [--json]
// Expected tests per person and missed positives under two-stage (Dorfman) pooling for each
// pool ratio, and the recommended ratio (src/core/pooling.hpp has the model and its sources).
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/pooling.hpp"

namespace bihuan::app {
namespace {

struct PoolArgs {
  std::string prevalence;
  std::string sensitivity = "1";
  std::string ratios = "1,5,10,20";
  bool json = false;
};

// A number as typed; anything else is exit 2 naming the option (CLI11's own conversion errors
// have other exit codes).
double fraction(const std::string& text, const char* field) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
    fail(ErrorCode::invalid_argument, std::string(field) + " must be a number, got '" + text + "'", field);
  return v;
}

nlohmann::ordered_json advice_json(const pooling::PoolAdvice& a) {
  nlohmann::ordered_json ratios = nlohmann::ordered_json::array();
  for (const auto& r : a.ratios)
    ratios.push_back({{"ratio", r.ratio},
                      {"tests_per_person", r.tests_per_person},
                      {"missed_per_1000_positives", r.missed_per_1000_positives}});
  return {{"prevalence", a.prevalence},
          {"sensitivity", a.sensitivity},
          {"ratios", ratios},
          {"recommended_ratio", a.recommended_ratio}};
}

void print_table(const pooling::PoolAdvice& a) {
  std::printf("prevalence %g (%g %%), sensitivity %g, specificity 1; two-stage (Dorfman) pooling\n", a.prevalence,
              a.prevalence * 100, a.sensitivity);
  std::printf("%7s  %16s  %18s  %s\n", "ratio", "tests/person", "tests/1000 people", "missed per 1000 positives");
  for (const auto& r : a.ratios)
    std::printf("%7d  %16.6f  %18.1f  %.1f%s\n", r.ratio, r.tests_per_person, r.tests_per_person * 1000,
                r.missed_per_1000_positives, r.ratio == a.recommended_ratio ? "   <- recommended" : "");
  std::printf("recommended ratio: %d\n", a.recommended_ratio);
}

const bool registered = add_command([](CLI::App& app) {
  auto* pool = app.add_subcommand("pool", "Pooled testing (混采)");
  pool->require_subcommand(1);
  auto args = std::make_shared<PoolArgs>();
  auto* advise = pool->add_subcommand(
      "advise", "Expected tests per person for each pool ratio under two-stage (Dorfman) pooling; exit 2 on bad input");
  advise->add_option("--prevalence", args->prevalence, "fraction of people positive: 0.01 is 1 %")->required();
  advise->add_option("--ratios", args->ratios, "comma-separated pool ratios")->capture_default_str();
  advise->add_option("--sensitivity", args->sensitivity, "test sensitivity, a fraction in (0, 1]")
      ->capture_default_str();
  advise->add_flag("--json", args->json, "print JSON");
  advise->callback([args] {
    auto advice = pooling::advise_pooling(fraction(args->prevalence, "prevalence"),
                                          pooling::parse_ratios(args->ratios),
                                          fraction(args->sensitivity, "sensitivity"));
    if (args->json)
      std::cout << advice_json(advice).dump() << "\n";
    else
      print_table(advice);
  });
});

}  // namespace
}  // namespace bihuan::app
