#pragma once
// Shared pieces of the libFuzzer harnesses: splitting an input into a selector and the rest,
// invariant checks that abort (so libFuzzer records a crash), and a per-process scratch
// directory on tmpfs for the throwaway SQLite databases.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/area.hpp"
#include "core/date.hpp"
#include "core/model.hpp"

#ifndef BIHUAN_SOURCE_DIR
#error "BIHUAN_SOURCE_DIR must name the source tree"
#endif

namespace bihuan::fuzz {

// The input as a byte cursor.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(reinterpret_cast<const char*>(data)), n_(size) {}
  // The next byte (0 once the input is used up).
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return static_cast<std::uint8_t>(*p_++);
  }
  // Up to `max` bytes up to (and without) the next `sep`; the separator is consumed.
  std::string_view until(char sep, std::size_t max = std::string_view::npos) {
    std::string_view rest(p_, n_);
    auto end = rest.find(sep);
    std::size_t take = end == std::string_view::npos ? n_ : end;
    if (take > max) take = max;
    std::string_view out = rest.substr(0, take);
    const std::size_t used = take + (take < n_ && rest[take] == sep ? 1 : 0);
    p_ += used;
    n_ -= used;
    return out;
  }
  std::string_view rest() {
    std::string_view out(p_, n_);
    p_ += n_;
    n_ = 0;
    return out;
  }
  std::size_t size() const { return n_; }

 private:
  const char* p_;
  std::size_t n_;
};

// An invariant of the code under test; a violation aborts (libFuzzer saves the input).
#define BIHUAN_FUZZ_CHECK(cond, what)                                                       \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

// A fresh directory for this process (tmpfs when available), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("bihuan-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

inline std::string source_path(std::string_view rel) { return std::string(BIHUAN_SOURCE_DIR) + "/" + std::string(rel); }

inline Date ymd(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

inline Area make_area(const std::string& code, const std::string& name) {
  Area a;
  a.code = code;
  a.name = name;
  a.level = *area_level_of(code);
  a.parent_code = parent_area_code(code);
  return a;
}

}  // namespace bihuan::fuzz
