#include "core/treatment.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace bihuan::treatment {

const char* to_string(Facility f) {
  return f == Facility::shelter_hospital ? "shelter_hospital" : "designated_hospital";
}

std::optional<Facility> facility_from(std::string_view s) {
  if (s == "designated_hospital") return Facility::designated_hospital;
  if (s == "shelter_hospital") return Facility::shelter_hospital;
  return std::nullopt;
}

bool treatable(std::string_view c) { return c == "confirmed" || c == "asymptomatic" || c == "clinical"; }

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

DischargeCheck discharge_check(const policy::CtRelease& rule, std::vector<lab::CtTest> tests) {
  DischargeCheck out;
  out.met = lab::ct_release_met(rule, tests);
  const auto need = static_cast<std::size_t>(std::max(rule.tests, 0));
  out.tests_counted = static_cast<int>(std::min(need, tests.size()));
  if (out.met) return out;
  const std::string what = std::to_string(rule.tests) + " consecutive tests at least " + std::to_string(rule.hours_apart) +
                           " h apart with N and ORF1ab Ct >= " + num(rule.min_ct);
  if (tests.size() < need) {
    out.reason = "the rule needs " + what + "; " + std::to_string(tests.size()) + " test" +
                 (tests.size() == 1 ? "" : "s") + " since admission";
    return out;
  }
  std::stable_sort(tests.begin(), tests.end(), [](const lab::CtTest& a, const lab::CtTest& b) { return a.sampled_at < b.sampled_at; });
  const auto first = tests.end() - static_cast<std::ptrdiff_t>(need);
  int i = static_cast<int>(tests.size() - need);
  for (auto it = first; it != tests.end(); ++it, ++i) {
    const std::string which = "test " + std::to_string(i + 1) + " (sampled " + format_instant(it->sampled_at) + ")";
    if (it->outcome != lab::Outcome::negative) {
      if (!it->orf1ab_ct || !it->n_ct) {
        out.reason = "the rule needs " + what + "; " + which + " is " + lab::to_string(it->outcome) +
                     " without both Ct values";
        return out;
      }
      if (*it->orf1ab_ct < rule.min_ct || *it->n_ct < rule.min_ct) {
        out.reason = "the rule needs " + what + "; " + which + " has ORF1ab Ct " + num(*it->orf1ab_ct) + " and N Ct " +
                     num(*it->n_ct);
        return out;
      }
    }
    if (it != first) {
      const auto gap = std::chrono::duration_cast<std::chrono::minutes>(it->sampled_at - (it - 1)->sampled_at);
      if (gap < std::chrono::hours{rule.hours_apart}) {
        out.reason = "the rule needs " + what + "; " + which + " was sampled " + std::to_string(gap.count() / 60) + " h " +
                     std::to_string(gap.count() % 60) + " min after the one before";
        return out;
      }
    }
  }
  out.reason = "the rule needs " + what;
  return out;
}

const char* to_string(RePositive r) { return r == RePositive::continue_monitoring ? "continue_monitoring" : "new_case"; }

RePositive repositive_decision(std::optional<double> orf1ab_ct, std::optional<double> n_ct, double min_ct) {
  if (orf1ab_ct && n_ct && *orf1ab_ct >= min_ct && *n_ct >= min_ct) return RePositive::continue_monitoring;
  return RePositive::new_case;
}

}  // namespace bihuan::treatment
