// Fuzzes policy profile YAML (core/policy): parse, resolve against the shipped profiles (and
// itself, for cycles), validate, then plan every group from a start date taken from the input.
// Only bihuan::Error may come out of parsing; plans must be well formed and survive the JSON
// round trip the loop stores them in.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/policy.hpp"
#include "fuzz_common.hpp"
#include "loop/service.hpp"

using namespace bihuan;

namespace {

// Every shipped profile, parsed once, by name (the parents a fuzzed profile may inherit from).
const std::map<std::string, policy::Profile>& shipped() {
  static const std::map<std::string, policy::Profile> profiles = [] {
    std::map<std::string, policy::Profile> out;
    for (const auto& e : std::filesystem::directory_iterator(fuzz::source_path("policies"))) {
      if (e.path().extension() != ".yaml") continue;
      std::ifstream f(e.path(), std::ios::binary);
      std::ostringstream ss;
      ss << f.rdbuf();
      const std::string name = e.path().stem().string();
      out.emplace(name, policy::parse_profile(ss.str(), name));
    }
    return out;
  }();
  return profiles;
}

void check_plan(const policy::Plan& plan, Date start) {
  BIHUAN_FUZZ_CHECK(plan.start == start, "the plan starts on the given day");
  Date expect = start;
  for (const auto& ph : plan.phases) {
    BIHUAN_FUZZ_CHECK(ph.start.ok() && ph.end.ok(), "phase days are real days");
    BIHUAN_FUZZ_CHECK(ph.start == expect, "phases follow each other without a gap");
    BIHUAN_FUZZ_CHECK(ph.start <= ph.end, "a phase ends on or after its start");
    for (const auto& d : ph.test_dates)
      BIHUAN_FUZZ_CHECK(d >= ph.start && d <= ph.end, "test days lie inside their phase");
    expect = Date{std::chrono::sys_days{ph.end} + std::chrono::days{1}};
  }
  (void)policy::colour_on(plan, start);
  if (!plan.phases.empty()) {
    (void)policy::colour_on(plan, plan.phases.back().end);
    (void)policy::colour_on(plan, expect);
  }
  const policy::Plan back = loop::plan_from_json(loop::plan_to_json(plan));
  BIHUAN_FUZZ_CHECK(back.phases.size() == plan.phases.size() && back.release_date == plan.release_date &&
                        back.group == plan.group && back.start == plan.start,
                    "a plan survives its JSON form");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)shipped();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const unsigned offset = in.byte() | (static_cast<unsigned>(in.byte()) << 8);
  const Date start{std::chrono::sys_days{fuzz::ymd(2020, 1, 1)} + std::chrono::days{offset % 4000}};
  const std::string_view text = in.rest();

  policy::Profile p;
  try {
    p = policy::parse_profile(text, "");  // any name: the shipped files are seeds as they are
  } catch (const Error& e) {
    BIHUAN_FUZZ_CHECK(e.code() == ErrorCode::invalid_argument, "a bad profile is invalid_argument");
    return 0;
  }
  const std::string self = p.name;
  auto load = [&](const std::string& name) {
    if (name == self) return policy::parse_profile(text, "");  // inherits from itself: a cycle
    auto it = shipped().find(name);
    if (it == shipped().end()) fail(ErrorCode::not_found, "no such profile: " + name, "inherits");
    return it->second;
  };
  try {
    p = policy::resolve(std::move(p), load);
    policy::validate(p);
  } catch (const Error&) {
    // Unknown parents, cycles and incomplete profiles are refused; a plan of what did parse
    // must still be safe to make, as `bihuan policy check` shows one.
  }
  for (const auto& [key, group] : p.groups) {
    policy::Plan plan;
    try {
      plan = policy::make_plan(p, key, start);
    } catch (const Error&) {
      continue;
    }
    check_plan(plan, start);
  }
  return 0;
}
