// The audit queue of a SQLite deployment (store/audit_queue.hpp): queued records read back through
// the audit log complete and in order, are copied exactly once whatever the movers do, survive a
// move that stopped half-way, wait while half-written, are dropped (and recorded) only as a damaged
// end of a finished segment, come over from the queue file of earlier versions, and go into a
// backup.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "fixture.hpp"
#include "store/audit_queue.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store::testing {
namespace {

namespace fs = std::filesystem;

AuditRecord rec(const std::string& action, std::int64_t entity_id) {
  AuditRecord r;
  r.at = from_unix_ms(1'700'000'000'000 + entity_id);
  r.user_id = 7;
  r.username = "grid01";
  r.action = action;
  r.entity = "person";
  r.entity_id = entity_id;
  r.ip = "127.0.0.1";
  r.detail = "{}";
  return r;
}

std::int64_t count(Db& db, const std::string& sql) {
  Q q(db, sql);
  return q.next() ? q.int64(0) : -1;
}

class AuditQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("bihuan-auditq-" + std::to_string(rd()) + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "city.db").string();
    repo_ = open_repository("sqlite:" + path_);
  }
  void TearDown() override {
    repo_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<AuditRecord> all() {
    AuditQuery q;
    q.entity = "person";
    auto items = repo_->find_audit(q, Page{0, 1000}).items;
    return {items.rbegin(), items.rend()};  // oldest first
  }
  // The segment files of a main file's queue, in name order.
  std::vector<fs::path> segments(const std::string& main = {}) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(audit_queue_path(main.empty() ? path_ : main), ec), end; !ec && it != end;
         it.increment(ec))
      if (it->path().extension() == ".log") out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void spit(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  }
  static void append_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::app) << bytes;
  }
  fs::path dir_;
  std::string path_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(AuditQueueTest, UrlsNameTheirFile) {
  EXPECT_EQ(sqlite_file_of_url("sqlite:/a/b.db"), "/a/b.db");
  EXPECT_EQ(sqlite_file_of_url("sqlite:///a/b.db"), "/a/b.db");
  EXPECT_EQ(sqlite_file_of_url("city.db"), "city.db");
  EXPECT_EQ(sqlite_file_of_url("postgresql://u@h/db"), "");
  EXPECT_EQ(sqlite_file_of_url("sqlite::memory:"), "");
  EXPECT_EQ(audit_queue_path("/a/b.db"), "/a/b.db-auditq.d");
}

TEST_F(AuditQueueTest, QueuedRecordsReadBackThroughTheLogInOrderAndLeaveTheMainFileAlone) {
  auto& main = database_of(*repo_);
  const auto before = count(main, "SELECT COUNT(*) FROM audit_log");
  {
    AuditQueue q(path_);
    q.append({rec("person.read", 1), rec("person.read", 2)});
    q.append({rec("person.read", 3)});
    // Not in the main file until moved.
    EXPECT_EQ(count(main, "SELECT COUNT(*) FROM audit_log"), before);
    auto got = all();
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(got[static_cast<std::size_t>(i)].entity_id, i + 1);
      EXPECT_EQ(got[static_cast<std::size_t>(i)].action, "person.read");
      EXPECT_EQ(got[static_cast<std::size_t>(i)].username, "grid01");
      EXPECT_EQ(got[static_cast<std::size_t>(i)].at, from_unix_ms(1'700'000'000'000 + i + 1));
    }
    // The writer still holds its segment: kept, and moving again copies nothing.
    EXPECT_EQ(segments().size(), 1u);
    EXPECT_EQ(move_audit_queue(main, path_), 0);
  }
  // Its writer gone, a moved segment is deleted, and its mark with the move after.
  EXPECT_EQ(move_audit_queue(main, path_), 0);
  EXPECT_TRUE(segments().empty());
  EXPECT_EQ(move_audit_queue(main, path_), 0);
  EXPECT_EQ(count(main, "SELECT COUNT(*) FROM audit_queue_moved"), 0);
  EXPECT_EQ(all().size(), 3u);
}

// The queue's format is CRC-32 as zlib computes it (segments written by earlier versions move
// after an upgrade): the sum in a record's header is checked against a bit-by-bit CRC-32 here.
std::uint32_t crc32_bitwise(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return ~c;
}
std::uint32_t le32_at(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

TEST_F(AuditQueueTest, EachRecordCarriesTheCrc32OfItsPayload) {
  ASSERT_EQ(crc32_bitwise("123456789"), 0xCBF43926u);  // the reference's own check value
  {
    AuditQueue q(path_);
    std::vector<AuditRecord> group;
    for (int i = 1; i <= 5; ++i) {
      auto r = rec("person.read", i);
      r.detail = "{\"ids\":[" + std::string(static_cast<std::size_t>(i * 7), '1') + "]}";  // lengths 8k+0..7
      group.push_back(r);
    }
    q.append(group);
    const auto segs = segments();
    ASSERT_EQ(segs.size(), 1u);
    const std::string bytes = slurp(segs.front());
    std::size_t pos = 0;
    int records = 0;
    while (pos + 8 <= bytes.size()) {
      const std::uint32_t len = le32_at(bytes, pos);
      ASSERT_LE(pos + 8 + len, bytes.size());
      EXPECT_EQ(le32_at(bytes, pos + 4), crc32_bitwise(std::string_view(bytes).substr(pos + 8, len))) << records;
      pos += 8 + len;
      ++records;
    }
    EXPECT_EQ(pos, bytes.size());
    EXPECT_EQ(records, 5);
  }
}

TEST_F(AuditQueueTest, ALongRunOfRecordsMovesWholeAndInOrder) {
  // More than two statements of many rows and a remainder moved one by one.
  const int n = 75;
  {
    AuditQueue q(path_);
    std::vector<AuditRecord> group;
    for (int i = 1; i <= n; ++i) {
      auto r = rec(i % 2 ? "person.read" : "person.search", i);
      r.reason = "case " + std::to_string(i);
      r.detail = "{\"n\":" + std::to_string(i) + "}";
      group.push_back(r);
      if (i % 10 == 0 || i == n) {
        q.append(group);
        group.clear();
      }
    }
  }
  auto& main = database_of(*repo_);
  EXPECT_EQ(move_audit_queue(main, path_), n);
  const auto got = all();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) {
    const auto& r = got[static_cast<std::size_t>(i - 1)];
    EXPECT_EQ(r.entity_id, i);
    EXPECT_EQ(r.action, i % 2 ? "person.read" : "person.search");
    EXPECT_EQ(r.reason, "case " + std::to_string(i));
    EXPECT_EQ(r.detail, "{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(r.at, from_unix_ms(1'700'000'000'000 + i));
    EXPECT_EQ(r.username, "grid01");
    EXPECT_EQ(r.ip, "127.0.0.1");
  }
  EXPECT_EQ(move_audit_queue(main, path_), 0);
  EXPECT_EQ(all().size(), static_cast<std::size_t>(n));
}

TEST_F(AuditQueueTest, ARecordWithoutActionIsRefusedAndNothingOfItsGroupIsQueued) {
  AuditQueue q(path_);
  try {
    q.append({rec("person.read", 1), rec("", 2)});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("audit record 2"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(all().empty());
}

TEST_F(AuditQueueTest, AMoveThatStoppedBeforeDeletingCopiesNothingTwice) {
  {
    AuditQueue q(path_);
    q.append({rec("person.read", 1), rec("person.read", 2)});
  }
  const auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  const std::string bytes = slurp(segs[0]);
  auto& main = database_of(*repo_);
  ASSERT_EQ(move_audit_queue(main, path_), 2);
  EXPECT_TRUE(segments().empty());
  // As if the process had died after the main file's commit and before the segment's deletion.
  spit(segs[0], bytes);
  AuditQueue q(path_);
  q.append({rec("person.read", 3)});
  EXPECT_EQ(move_audit_queue(main, path_), 1);
  auto got = all();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].entity_id, 3);
  EXPECT_EQ(segments().size(), 1u);  // the old one deleted again; the writer's own kept
}

TEST_F(AuditQueueTest, ARecordStillBeingWrittenIsLeftForTheNextMove) {
  // The bytes of two framed records, as a writer writes them.
  std::string framed;
  {
    const auto other = (dir_ / "other.db").string();
    AuditQueue w(other);
    w.append({rec("person.read", 2), rec("person.read", 3)});
    auto segs = segments(other);
    ASSERT_EQ(segs.size(), 1u);
    framed = slurp(segs[0]);
  }
  AuditQueue q(path_);
  q.append({rec("person.read", 1)});
  const auto seg = segments().at(0);
  auto& main = database_of(*repo_);
  // A concurrent reader sees the next write in pieces: what is whole is moved, the rest waits.
  const std::size_t cut = framed.size() - 5;
  append_bytes(seg, framed.substr(0, cut));
  EXPECT_EQ(move_audit_queue(main, path_), 2);
  append_bytes(seg, framed.substr(cut));
  EXPECT_EQ(move_audit_queue(main, path_), 1);
  auto got = all();
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)].entity_id, i + 1);
}

TEST_F(AuditQueueTest, ADamagedEndOfAFinishedSegmentIsRecordedAndDropped) {
  {
    AuditQueue q(path_);
    q.append({rec("person.read", 1), rec("person.read", 2)});
  }
  const auto seg = segments().at(0);
  append_bytes(seg, std::string("\x10\x00\x00\x00garbage-after-a-power-loss", 30));
  auto& main = database_of(*repo_);
  EXPECT_EQ(move_audit_queue(main, path_), 2);
  EXPECT_TRUE(segments().empty());
  EXPECT_EQ(all().size(), 2u);
  AuditQuery aq;
  aq.action = "audit.queue_tail_dropped";
  const auto dropped = repo_->find_audit(aq, Page{0, 10}).items;
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_NE(dropped[0].detail.find("\"bytes\":30"), std::string::npos) << dropped[0].detail;
}

TEST_F(AuditQueueTest, TheQueueFileOfEarlierVersionsIsDrainedOnceAndRemoved) {
  const std::string legacy = path_ + "-auditq";
  {
    auto q = open_sqlite(legacy);
    q->exec_script(
        "CREATE TABLE queue_meta (uid TEXT NOT NULL);"
        "CREATE TABLE audit_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, "
        "user_id INTEGER NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL, entity TEXT NOT NULL, "
        "entity_id INTEGER NOT NULL, ip TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL);"
        "INSERT INTO queue_meta VALUES ('0123456789abcdef0123456789abcdef');"
        "INSERT INTO audit_queue (at, user_id, username, action, entity, entity_id, ip, reason, detail) VALUES "
        "(1700000000001, 7, 'grid01', 'person.read', 'person', 1, '', '', '{}'),"
        "(1700000000002, 7, 'grid01', 'person.read', 'person', 2, '', '', '{}');");
  }
  auto& main = database_of(*repo_);
  EXPECT_EQ(move_audit_queue(main, path_), 2);
  EXPECT_FALSE(fs::exists(legacy));
  EXPECT_EQ(move_audit_queue(main, path_), 0);
  EXPECT_EQ(count(main, "SELECT COUNT(*) FROM audit_queue_moved"), 0);
  auto got = all();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].entity_id, 2);
}

TEST_F(AuditQueueTest, MoversInParallelCopyEachRecordOnce) {
  constexpr int kGroups = 200;
  std::thread writer([&] {
    AuditQueue q(path_, 1000);  // a new segment every few groups, deleted by the movers meanwhile
    for (int g = 0; g < kGroups; ++g) q.append({rec("person.read", 2 * g + 1), rec("person.read", 2 * g + 2)});
  });
  std::vector<std::thread> movers;
  for (int m = 0; m < 2; ++m)
    movers.emplace_back([&] {
      auto r = open_repository("sqlite:" + path_);
      for (int i = 0; i < 100; ++i) move_audit_queue(database_of(*r), path_);
    });
  writer.join();
  for (auto& t : movers) t.join();
  auto got = all();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(2 * kGroups));
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].entity_id, static_cast<std::int64_t>(i + 1));
  EXPECT_TRUE(segments().empty());
}

TEST_F(AuditQueueTest, ABackupHasTheQueuedRecords) {
  AuditQueue q(path_);
  q.append({rec("person.read", 1)});
  const auto dest = (dir_ / "copy.db").string();
  backup_sqlite(path_, dest, BackupOptions{});
  auto copy = open_repository("sqlite:" + dest);
  AuditQuery aq;
  aq.entity = "person";
  EXPECT_EQ(copy->find_audit(aq, Page{0, 10}).items.size(), 1u);
}

}  // namespace
}  // namespace bihuan::store::testing
