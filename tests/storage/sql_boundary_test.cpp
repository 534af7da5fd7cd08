// Only src/store runs SQL (issue 6): no source file outside src/store reaches the database
// driver, the private connection accessor or the statement class. A service that needs data
// adds a repository method instead.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

TEST(SqlBoundary, NothingOutsideStoreRunsSql) {
  const fs::path src = fs::path(BIHUAN_SOURCE_DIR) / "src";
  ASSERT_TRUE(fs::is_directory(src)) << src;
  const std::vector<std::string> forbidden = {"store/db.hpp", "store/sql_access.hpp", "database_of", "store::Q",
                                              "store::Db", "open_sqlite(", "open_pg("};
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    const auto ext = e.path().extension();
    if (ext != ".cpp" && ext != ".hpp") continue;
    const auto rel = fs::relative(e.path(), src).generic_string();
    if (rel.rfind("store/", 0) == 0) continue;
    ++files;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    for (const auto& f : forbidden)
      EXPECT_EQ(text.find(f), std::string::npos) << "src/" << rel << " uses " << f << ": add a repository method in src/store";
  }
  EXPECT_GT(files, 20);
}

}  // namespace
