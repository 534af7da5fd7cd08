// bihuan rt --incidence FILE (--si-mean M --si-sd S | --si-distr FILE) [--imported FILE]
//           [--window DAYS] [--t-start A..B] [--json]
// The effective reproduction number by Cori et al. 2013 as EpiEstim's estimate_R computes it
// (core/epi.hpp, docs/ANALYTICS.md): one row per time window, every window kept; a window with
// too little data carries a warning (and no estimate where EpiEstim gives NA).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/epi.hpp"

namespace bihuan::app {
namespace {

struct RtArgs {
  std::string incidence, imported, si_distr, t_start;
  double si_mean = NAN, si_sd = NAN;
  int window = 7;
  double prior_mean = 5, prior_sd = 5;
  bool json = false;
};

std::string read_text(const std::string& path, const char* field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, std::string("cannot read ") + field + " file " + path, field);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "A..B" -> windows t_start = A..B, t_end = t_start + window - 1.
std::vector<epi::TimeWindow> windows_from(const std::string& spec, int window, int days) {
  if (spec.empty()) return epi::sliding_windows(days, window);
  const auto dots = spec.find("..");
  int a = 0, b = 0;
  try {
    std::size_t used = 0;
    if (dots == std::string::npos) fail(ErrorCode::invalid_argument, "", "t-start");
    a = std::stoi(spec.substr(0, dots), &used);
    if (used != dots) fail(ErrorCode::invalid_argument, "", "t-start");
    const auto rest = spec.substr(dots + 2);
    b = std::stoi(rest, &used);
    if (used != rest.size()) fail(ErrorCode::invalid_argument, "", "t-start");
  } catch (const std::exception&) {
    fail(ErrorCode::invalid_argument, "--t-start must be FIRST..LAST (days from 1), got '" + spec + "'", "t-start");
  }
  if (a < 2 || b < a || b + window - 1 > days)
    fail(ErrorCode::invalid_argument,
         "--t-start " + spec + ": windows must start on day 2 or later and end by day " + std::to_string(days),
         "t-start");
  std::vector<epi::TimeWindow> out;
  for (int s = a; s <= b; ++s) out.push_back({s, s + window - 1});
  return out;
}

nlohmann::ordered_json opt(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

const bool registered = add_command([](CLI::App& app) {
  auto args = std::make_shared<RtArgs>();
  auto* rt = app.add_subcommand(
      "rt", "Effective reproduction number (有效再生数 Rt) by Cori et al. 2013 as EpiEstim computes it; exit 2 on bad input");
  rt->add_option("--incidence", args->incidence, "CSV `date,cases`: local cases per day, one row per day")->required();
  rt->add_option("--imported", args->imported, "CSV `date,cases`: imported cases per day, the same days");
  rt->add_option("--si-mean", args->si_mean, "mean serial interval in days (parametric, discretised as EpiEstim)");
  rt->add_option("--si-sd", args->si_sd, "standard deviation of the serial interval in days");
  rt->add_option("--si-distr", args->si_distr, "CSV `t,p`: a non-parametric serial-interval distribution (p[0] = 0)");
  rt->add_option("--window", args->window, "window length in days (sliding windows t_start = 2 .. T - window + 1)")
      ->capture_default_str();
  rt->add_option("--t-start", args->t_start, "FIRST..LAST: only windows starting on these days (days from 1)");
  rt->add_option("--prior-mean", args->prior_mean, "mean of the gamma prior on R")->capture_default_str();
  rt->add_option("--prior-sd", args->prior_sd, "sd of the gamma prior on R")->capture_default_str();
  rt->add_flag("--json", args->json, "print a JSON array, one object per window");
  rt->callback([args] {
    const bool parametric = !std::isnan(args->si_mean) || !std::isnan(args->si_sd);
    if (parametric == !args->si_distr.empty())
      fail(ErrorCode::invalid_argument, "give either --si-mean and --si-sd or --si-distr", "si-mean");
    if (parametric && (std::isnan(args->si_mean) || std::isnan(args->si_sd)))
      fail(ErrorCode::invalid_argument, "--si-mean and --si-sd go together", std::isnan(args->si_mean) ? "si-mean" : "si-sd");
    if (args->window < 1 || args->window > 366)
      fail(ErrorCode::invalid_argument, "--window must be 1..366 days", "window");
    const auto local = epi::parse_daily_counts(read_text(args->incidence, "incidence"), args->incidence);
    std::vector<std::int64_t> imported;
    if (!args->imported.empty()) {
      const auto imp = epi::parse_daily_counts(read_text(args->imported, "imported"), args->imported);
      if (imp.first != local.first || imp.counts.size() != local.counts.size())
        fail(ErrorCode::invalid_argument,
             args->imported + ": the imported cases must cover the same days as the incidence (" +
                 format_date(local.first) + ", " + std::to_string(local.counts.size()) + " days)",
             "imported");
      imported = imp.counts;
    }
    const int days = static_cast<int>(local.counts.size());
    if (days < args->window + 1)
      fail(ErrorCode::invalid_argument,
           args->incidence + ": " + std::to_string(days) + " days, fewer than the " + std::to_string(args->window + 1) +
               " a window of " + std::to_string(args->window) + " days starting on day 2 needs",
           "incidence");
    const auto windows = windows_from(args->t_start, args->window, days);
    epi::RtConfig cfg;
    cfg.prior_mean = args->prior_mean;
    cfg.prior_sd = args->prior_sd;
    std::vector<epi::RtEstimate> est;
    if (parametric) {
      est = epi::estimate_rt_parametric(local.counts, imported, args->si_mean, args->si_sd, windows, cfg);
    } else {
      est = epi::estimate_rt(local.counts, imported,
                             epi::parse_si_distribution(read_text(args->si_distr, "si-distr")), windows, cfg);
    }
    const auto date_of = [&](int t) {
      return format_date(Date(std::chrono::sys_days(local.first) + std::chrono::days(t - 1)));
    };
    if (args->json) {
      auto out = nlohmann::ordered_json::array();
      for (const auto& e : est) {
        nlohmann::ordered_json o;
        o["t_start"] = e.t_start;
        o["t_end"] = e.t_end;
        o["date_start"] = date_of(e.t_start);
        o["date_end"] = date_of(e.t_end);
        o["mean"] = opt(e.mean);
        o["std"] = opt(e.sd);
        o["quantile_0_025"] = opt(e.q025);
        o["quantile_0_05"] = opt(e.q05);
        o["quantile_0_25"] = opt(e.q25);
        o["median"] = opt(e.median);
        o["quantile_0_75"] = opt(e.q75);
        o["quantile_0_95"] = opt(e.q95);
        o["quantile_0_975"] = opt(e.q975);
        o["local_cases"] = e.local_cases;
        if (!e.warning.empty()) {
          o["warning"] = e.warning;
          o["reason"] = e.reason;
        }
        out.push_back(std::move(o));
      }
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
      return;
    }
    std::printf("%7s %5s  %-10s  %9s %9s %9s %9s  %s\n", "t_start", "t_end", "date_end", "mean", "std", "q0.025",
                "q0.975", "warning");
    for (const auto& e : est) {
      if (e.mean)
        std::printf("%7d %5d  %-10s  %9.4f %9.4f %9.4f %9.4f  %s\n", e.t_start, e.t_end, date_of(e.t_end).c_str(),
                    *e.mean, *e.sd, *e.q025, *e.q975, e.warning.c_str());
      else
        std::printf("%7d %5d  %-10s  %9s %9s %9s %9s  %s\n", e.t_start, e.t_end, date_of(e.t_end).c_str(), "-", "-", "-",
                    "-", e.warning.c_str());
    }
  });
});

}  // namespace
}  // namespace bihuan::app
