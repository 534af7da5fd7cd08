#pragma once
// Helpers shared by the benchmark programs: a scratch database file and environment knobs.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace bihuan::bench {

// BIHUAN_BENCH_DIR (default /tmp): where scratch databases go.
inline std::string scratch_db(const std::string& name) {
  const char* dir = std::getenv("BIHUAN_BENCH_DIR");
  const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/bihuan-bench-" + name + "-" +
                           std::to_string(::getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}
inline void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
inline long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;
}

}  // namespace bihuan::bench
