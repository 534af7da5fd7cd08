// bihuan trace --scans SCANS.csv --cases CASES.csv [--venues VENUES.csv] [--json]
// bihuan trace --db URL [--json]
// Scan co-location contacts (流调) of every case: people whose visit to a venue overlapped a
// case's visit inside its exposure window by at least the venue type's minimum overlap
// (docs/TRACE.md). Prints {"contacts":[{"case","contact","venue","overlap_minutes"}]}.
// Under `mpirun -n K` (K > 1) it runs as `bihuan-mpi trace` from the same directory, which splits
// the venues across the ranks and prints the same result.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "trace/batch/batch.hpp"
#include "trace/batch/options.hpp"

namespace bihuan::app {
namespace {

// The world size mpirun gives its processes (Open MPI, MPICH/Hydra, PMIx); 1 outside mpirun.
int mpi_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  return 1;
}

// bihuan-mpi: $BIHUAN_MPI, else next to this executable (an installation's bin/), else in the
// build tree's src/sim beside src/app.
std::filesystem::path find_mpi_binary() {
  if (const char* env = std::getenv("BIHUAN_MPI"); env && *env) return env;
  std::error_code ec;
  const auto dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& p : {dir / "bihuan-mpi", dir.parent_path() / "sim" / "bihuan-mpi"})
    if (!ec && std::filesystem::exists(p, ec)) return p;
  fail(ErrorCode::unavailable,
       "trace under mpirun with more than one rank runs bihuan-mpi, which is neither in $BIHUAN_MPI nor next to " +
           (dir / "bihuan").string() + "; it is built when CMake finds MPI (scripts/setup.sh installs Open MPI)",
       "mpi");
}

// Replaces this process by bihuan-mpi with `trace` and the arguments that followed `trace` on
// this command line.
[[noreturn]] void exec_mpi() {
  const auto mpi = find_mpi_binary();
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  std::vector<std::string> args;
  for (std::size_t p = 0; p < all.size();) {
    const auto z = all.find('\0', p);
    args.emplace_back(all.substr(p, z == std::string::npos ? std::string::npos : z - p));
    if (z == std::string::npos) break;
    p = z + 1;
  }
  std::vector<char*> argv;
  const std::string prog = mpi.string();
  argv.push_back(const_cast<char*>(prog.c_str()));
  std::size_t k = 1;
  while (k < args.size() && args[k] != "trace") ++k;
  for (; k < args.size(); ++k) argv.push_back(args[k].data());
  argv.push_back(nullptr);
  ::execv(prog.c_str(), argv.data());
  fail(ErrorCode::unavailable, "cannot run " + prog + ": " + std::strerror(errno), "mpi");
}

const bool registered = add_command([](CLI::App& app) {
  static trace::TraceOptions o;
  auto* cmd = app.add_subcommand("trace", "Scan co-location contacts (流调) of cases from scan files or the database");
  trace::add_trace_options(*cmd, o);
  cmd->callback([] {
    if (mpi_world_size() > 1) exec_mpi();
    const auto result = trace::run_trace_command(o, 0, 1);
    std::cout << result;
    std::cout.flush();
  });
});

}  // namespace
}  // namespace bihuan::app
