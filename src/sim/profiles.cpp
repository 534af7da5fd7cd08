#include "sim/profiles.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace bihuan::sim {
namespace fs = std::filesystem;
namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read policy profile " + path.string(), "profile");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

policy::Profile load_profile(const std::string& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
    fail(ErrorCode::invalid_argument, "profile: not a profile name: '" + name + "'", "profile");
  auto load = [&](const std::string& n) {
    const fs::path file = fs::path(dir) / (n + ".yaml");
    try {
      return policy::parse_profile(read_text(file), n);
    } catch (const Error& e) {
      throw Error(e.code(), file.string() + ": " + e.what(), e.field());
    }
  };
  auto p = policy::resolve(load(name), load);
  policy::validate(p);
  return p;
}

std::vector<std::string> list_profiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool manages(const policy::Profile& p, const std::string& group) {
  auto it = p.groups.find(group);
  return it != p.groups.end() && it->second.traced && !it->second.phases.empty();
}

std::vector<DayRegime> group_days(const policy::Profile& p, const std::string& group) {
  std::vector<DayRegime> days;
  if (!manages(p, group)) return days;
  for (const auto& ph : p.groups.at(group).phases) {
    const std::size_t base = days.size();
    days.resize(base + static_cast<std::size_t>(std::max(0, ph.days)), DayRegime{ph.measure, false});
    for (int t : ph.test_days)
      if (t >= 1 && t <= ph.days) days[base + static_cast<std::size_t>(t - 1)].test = true;
  }
  return days;
}

}  // namespace bihuan::sim
