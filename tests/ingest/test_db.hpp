#pragma once
// A throwaway SQLite database file for one test.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "store/repository.hpp"

namespace bihuan::testing {

class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("bihuan-ingest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".db"))
                .string();
    remove_files();
    repo_ = store::open_repository("sqlite:" + path_);
  }
  ~TempDb() {
    repo_.reset();
    remove_files();
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  store::Repository& repo() { return *repo_; }
  const std::string& path() const { return path_; }
  std::unique_ptr<store::Repository> reopen() { return store::open_repository("sqlite:" + path_); }

 private:
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path_ + suffix);
  }
  std::string path_;
  std::unique_ptr<store::Repository> repo_;
};

}  // namespace bihuan::testing
