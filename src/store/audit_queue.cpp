#include "store/audit_queue.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string_view>
#include <utility>

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

namespace fs = std::filesystem;

// --- Framing -------------------------------------------------------------------------------------
// A record is: u32 payload length, u32 CRC-32 of the payload (both little-endian), the payload:
// at, user_id, entity_id (i64 each), then username, action, entity, ip, reason, detail (each a u32
// length and its bytes).

constexpr std::size_t kHeader = 8;
constexpr std::uint32_t kMaxPayload = 64u << 20;  // larger lengths are damage, not records

// CRC-32 (the reflected polynomial 0xEDB88320, as zlib's) eight bytes at a step: table k gives the
// CRC of a byte followed by k zero bytes, so the eight lookups of a step are independent of each
// other instead of a chain of eight (every record is summed twice: when queued and when moved).
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr CrcTables crc_tables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  return t;
}
constexpr CrcTables kCrc = crc_tables();

std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t lo = c ^ le32(p), hi = le32(p + 4);
    c = kCrc[7][lo & 0xFFu] ^ kCrc[6][(lo >> 8) & 0xFFu] ^ kCrc[5][(lo >> 16) & 0xFFu] ^ kCrc[4][lo >> 24] ^
        kCrc[3][hi & 0xFFu] ^ kCrc[2][(hi >> 8) & 0xFFu] ^ kCrc[1][(hi >> 16) & 0xFFu] ^ kCrc[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = kCrc[0][(c ^ *p) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
void put_i64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFFu));
}
void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
std::int64_t get_i64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<std::int64_t>(v);
}

void frame(std::string& out, const AuditRecord& r) {
  const std::size_t start = out.size();
  out.append(kHeader, '\0');
  put_i64(out, to_unix_ms(r.at));
  put_i64(out, r.user_id);
  put_i64(out, r.entity_id);
  for (const std::string* s : {&r.username, &r.action, &r.entity, &r.ip, &r.reason, &r.detail}) put_str(out, *s);
  const std::string_view payload(out.data() + start + kHeader, out.size() - start - kHeader);
  const auto len = static_cast<std::uint32_t>(payload.size());
  const std::uint32_t crc = crc32(payload);
  for (std::size_t i = 0; i < 4; ++i) {
    out[start + i] = static_cast<char>((len >> (8 * i)) & 0xFFu);
    out[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFu);
  }
}

// One queued record as views of its payload (valid while the payload's bytes are).
struct RecordView {
  std::int64_t at_ms = 0, user_id = 0, entity_id = 0;
  std::string_view username, action, entity, ip, reason, detail;
};

// Reads one payload into `r`; false when it does not parse (damage).
bool unframe(std::string_view p, RecordView& r) {
  if (p.size() < 24) return false;
  r.at_ms = get_i64(p.data());
  r.user_id = get_i64(p.data() + 8);
  r.entity_id = get_i64(p.data() + 16);
  std::size_t pos = 24;
  for (std::string_view* s : {&r.username, &r.action, &r.entity, &r.ip, &r.reason, &r.detail}) {
    if (p.size() - pos < 4) return false;
    const std::uint32_t n = get_u32(p.data() + pos);
    pos += 4;
    if (p.size() - pos < n) return false;
    *s = p.substr(pos, n);
    pos += n;
  }
  return pos == p.size();
}

// --- Files ---------------------------------------------------------------------------------------

[[noreturn]] void fail_io(const std::string& what, int err) {
  fail(ErrorCode::unavailable, "audit queue: " + what + ": " + std::strerror(err));
}

// A segment's name: the time it was begun (nanoseconds, 16 hex digits, so that the names of one
// writer's segments sort in the order it wrote them) and 64 random bits.
std::string segment_uid() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  const auto ns = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
  const std::uint64_t rnd = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  std::string s(32, '0');
  for (int i = 0; i < 16; ++i) {
    s[static_cast<std::size_t>(15 - i)] = kHex[(ns >> (4 * i)) & 0xFu];
    s[static_cast<std::size_t>(31 - i)] = kHex[(rnd >> (4 * i)) & 0xFu];
  }
  return s;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The bytes of `fd` from `offset` to its end.
std::string read_from(int fd, std::int64_t offset) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot read a segment", errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A segment seen by a move.
struct Segment {
  std::string uid;
  fs::path path;
  Fd fd;
  std::int64_t moved = 0;  // the mark after this move
};

constexpr const char* kInsert =
    "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

std::int64_t mark_of(Db& main, const std::string& uid) {
  Q m(main, "SELECT moved FROM audit_queue_moved WHERE queue_uid = ?");
  m.text(uid);
  return m.next() ? m.int64(0) : 0;
}

void set_mark(Db& main, const std::string& uid, std::int64_t moved) {
  Q up(main,
       "INSERT INTO audit_queue_moved (queue_uid, moved) VALUES (?, ?) "
       "ON CONFLICT (queue_uid) DO UPDATE SET moved = excluded.moved");
  up.text(uid).i64(moved);
  up.run();
}

// Moved records go in by statements of kRowsPerInsert rows (and the rest one by one): one
// statement's step, bindings and reset for many rows.
constexpr int kRowsPerInsert = 32;

const std::string& insert_many() {
  static const std::string sql = [] {
    std::string s = "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) VALUES ";
    for (int i = 0; i < kRowsPerInsert; ++i) s += i ? ",(?, ?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    return s;
  }();
  return sql;
}

void bind_view(Q& q, const RecordView& r) {
  q.i64(r.at_ms).i64(r.user_id).text(r.username).text(r.action).text(r.entity).i64(r.entity_id).text(r.ip);
  q.text(r.reason).text(r.detail);
}

// Inserts `n` records into audit_log in their order.
void insert_records(Db& main, const RecordView* rows, int n) {
  if (n == kRowsPerInsert) {
    Q many(main, insert_many());
    for (int i = 0; i < n; ++i) bind_view(many, rows[i]);
    many.run();
    return;
  }
  Q one(main, kInsert);
  for (int i = 0; i < n; ++i) {
    one.again();
    bind_view(one, rows[i]);
    one.run();
  }
}

// Copies the whole records of `bytes` (a segment's from its mark) into audit_log; returns how many
// bytes they took (a damaged or half-written record and what follows it are left).
std::int64_t copy_records(Db& main, std::string_view bytes, std::int64_t& copied) {
  std::size_t pos = 0;
  std::array<RecordView, kRowsPerInsert> rows;
  int n = 0;
  while (bytes.size() - pos >= kHeader) {
    const std::uint32_t len = get_u32(bytes.data() + pos);
    if (len > kMaxPayload || bytes.size() - pos - kHeader < len) break;
    const std::string_view payload = bytes.substr(pos + kHeader, len);
    if (crc32(payload) != get_u32(bytes.data() + pos + 4) || !unframe(payload, rows[static_cast<std::size_t>(n)]))
      break;
    pos += kHeader + len;
    if (++n == kRowsPerInsert) {
      insert_records(main, rows.data(), n);
      copied += n;
      n = 0;
    }
  }
  insert_records(main, rows.data(), n);
  copied += n;
  return static_cast<std::int64_t>(pos);
}

// The audit record of bytes dropped at the end of a segment whose writer has gone.
void record_dropped_tail(Db& main, const std::string& uid, std::int64_t offset, std::int64_t bytes) {
  AuditRecord r;
  r.at = from_unix_ms(static_cast<std::int64_t>(std::time(nullptr)) * 1000);
  r.username = "system";
  r.action = "audit.queue_tail_dropped";
  r.entity = "audit_queue";
  r.detail = "{\"segment\":\"";
  r.detail.append(uid);
  r.detail.append("\",\"offset\":");
  r.detail.append(std::to_string(offset));
  r.detail.append(",\"bytes\":");
  r.detail.append(std::to_string(bytes));
  r.detail.push_back('}');
  Q ins(main, kInsert);
  bind_audit(ins, r);
  ins.run();
}

// --- The queue file of earlier versions (a SQLite database), drained once ------------------------

std::string legacy_path(const std::string& main_path) { return main_path + "-auditq"; }

// Copies the legacy queue's records above its mark inside the caller's transaction; returns the
// number copied and sets `uid` to the file's. The file is removed by the caller after the commit.
std::int64_t drain_legacy(Db& main, const std::string& path, std::string& uid) {
  auto q = open_sqlite(path);
  {
    Q u(*q, "SELECT name FROM sqlite_master WHERE name = 'queue_meta'");
    if (!u.next()) {
      uid.assign(1, '-');  // an empty file: nothing to drain, removed all the same
      return 0;
    }
  }
  {
    Q u(*q, "SELECT uid FROM queue_meta LIMIT 1");
    if (!u.next()) {
      uid.assign(1, '-');
      return 0;
    }
    uid = u.str(0);
  }
  const std::int64_t mark = mark_of(main, uid);
  std::int64_t last = mark, copied = 0;
  Q rows(*q,
         "SELECT id, at, user_id, username, action, entity, entity_id, ip, reason, detail "
         "FROM audit_queue WHERE id > ? ORDER BY id");
  rows.i64(mark);
  while (rows.next()) {
    Q ins(main, kInsert);
    ins.i64(rows.int64(1))
        .i64(rows.int64(2))
        .text(rows.str(3))
        .text(rows.str(4))
        .text(rows.str(5))
        .i64(rows.int64(6))
        .text(rows.str(7))
        .text(rows.str(8))
        .text(rows.str(9));
    ins.run();
    last = rows.int64(0);
    ++copied;
  }
  // The mark stays until the file is gone, in case its removal fails.
  if (last != mark) set_mark(main, uid, last);
  return copied;
}

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

void bind_audit(Q& q, const AuditRecord& r) {
  q.i64(to_unix_ms(r.at))
      .i64(r.user_id)
      .text(r.username)
      .text(r.action)
      .text(r.entity)
      .i64(r.entity_id)
      .text(r.ip)
      .text(r.reason)
      .text(r.detail);
}

std::string sqlite_file_of_url(const std::string& url) {
  std::string path;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
  } else if (url.rfind("postgres", 0) == 0) {
    return {};
  } else if (url.size() > 3 && url.ends_with(".db")) {
    path = url;
  }
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return {};
  return path;
}

std::string audit_queue_path(const std::string& main_path) { return main_path + "-auditq.d"; }

AuditQueue::AuditQueue(const std::string& main_path, std::int64_t segment_bytes)
    : main_path_(main_path), dir_(audit_queue_path(main_path)), segment_bytes_(segment_bytes) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) fail_io("cannot create " + dir_, errno);
}

AuditQueue::~AuditQueue() { end_segment(); }

void AuditQueue::begin_segment() {
  // Created under a name the movers pass over, locked, then renamed: a visible segment is always
  // locked while its writer lives (a mover deletes only segments whose lock it can take).
  for (int attempt = 0;; ++attempt) {
    const std::string uid = segment_uid();
    const std::string tmp = dir_ + "/" + uid + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 3) continue;
      fail_io("cannot create a segment in " + dir_, errno);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::rename(tmp.c_str(), (dir_ + "/" + uid + ".log").c_str()) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      if (attempt < 3) continue;
      fail_io("cannot begin a segment in " + dir_, err);
    }
    fd_ = fd;
    written_ = 0;
    return;
  }
}

void AuditQueue::end_segment() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock: the movers may delete it once moved
  fd_ = -1;
  written_ = 0;
}

void AuditQueue::append(const std::vector<AuditRecord>& records) {
  for (std::size_t i = 0; i < records.size(); ++i)
    if (records[i].action.empty())
      fail(ErrorCode::invalid_argument, "audit record " + std::to_string(i + 1) + ": action is required", "action");
  if (records.empty()) return;
  std::string bytes;
  bytes.reserve(records.size() * 256);
  for (const auto& r : records) frame(bytes, r);
  if (fd_ < 0) begin_segment();
  if (!write_all(fd_, bytes)) {
    const int err = errno;
    // Nothing of the group stays: cut what was written, and give the segment up either way (if
    // the cut failed too, its movers drop the damaged end once this writer has let go of it).
    if (::ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
      // Left to the movers (see above).
    }
    end_segment();
    fail_io("cannot append to a segment", err);
  }
  written_ += static_cast<std::int64_t>(bytes.size());
  if (written_ >= segment_bytes_) end_segment();
}

std::int64_t AuditQueue::move_into(Repository& main) { return move_into(database_of(main)); }

std::int64_t AuditQueue::move_into(Db& main) {
  std::int64_t copied = 0;
  std::vector<Segment> segments;
  const std::string legacy = legacy_path(main_path_);
  std::string legacy_uid;  // set when the legacy queue file was drained by this move
  // The main file's write lock first: a second mover waits here and then sees this one's marks.
  main.begin();
  try {
    std::vector<std::string> present;
    std::vector<fs::path> paths;
    std::error_code ec;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".log") paths.push_back(it->path());
    if (ec && ec != std::errc::no_such_file_or_directory) fail_io("cannot list " + dir_, ec.value());
    std::sort(paths.begin(), paths.end());  // one writer's segments in the order it wrote them
    for (const auto& p : paths) {
      Segment s;
      s.uid = p.stem().string();
      s.path = p;
      s.fd = Fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (s.fd.get() < 0) continue;  // deleted meanwhile by a mover that had moved all of it
      present.push_back(s.uid);
      const std::int64_t mark = mark_of(main, s.uid);
      const std::string bytes = read_from(s.fd.get(), mark);
      s.moved = mark + copy_records(main, bytes, copied);
      if (s.moved != mark) set_mark(main, s.uid, s.moved);
      segments.push_back(std::move(s));
    }
    if (path_exists(legacy)) copied += drain_legacy(main, legacy, legacy_uid);
    // Marks of segments deleted after their last move: nothing can add to them any more. (Marks
    // are written only under the write lock held here, so a segment begun after the listing has
    // none yet.) The legacy queue's mark stays until its file is gone.
    std::vector<std::string> stale;
    {
      Q marks(main, "SELECT queue_uid FROM audit_queue_moved");
      while (marks.next()) {
        std::string uid = marks.str(0);
        if (uid == legacy_uid || std::find(present.begin(), present.end(), uid) != present.end()) continue;
        if (!path_exists(fs::path(dir_) / (uid + ".log"))) stale.push_back(std::move(uid));
      }
    }
    for (const auto& uid : stale) {
      Q del(main, "DELETE FROM audit_queue_moved WHERE queue_uid = ?");
      del.text(uid);
      del.run();
    }
    main.commit();
  } catch (...) {
    main.rollback();
    throw;
  }
  // Segments whose writer has let go (their lock can be taken) no longer change: deleted once
  // moved to their end. Bytes after their last whole record (a write that a power loss cut) are
  // recorded in the log and dropped.
  for (auto& s : segments) {
    if (::flock(s.fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its writer is still at it
    const std::string rest = read_from(s.fd.get(), s.moved);
    if (!rest.empty()) {
      std::int64_t late = 0;
      main.begin();
      try {
        // Whole records written after this move's read are moved now; only then is the rest damage.
        if (mark_of(main, s.uid) != s.moved) {  // another mover got further meanwhile
          main.rollback();
          continue;
        }
        const std::int64_t took = copy_records(main, rest, late);
        copied += late;
        if (took < static_cast<std::int64_t>(rest.size()))
          record_dropped_tail(main, s.uid, s.moved + took, static_cast<std::int64_t>(rest.size()) - took);
        set_mark(main, s.uid, s.moved + static_cast<std::int64_t>(rest.size()));
        main.commit();
      } catch (...) {
        main.rollback();
        throw;
      }
    }
    ::unlink(s.path.c_str());  // its mark goes with the next move
  }
  if (!legacy_uid.empty()) {
    std::error_code ec;
    if (fs::remove(legacy, ec)) {
      fs::remove(legacy + "-wal", ec);
      fs::remove(legacy + "-shm", ec);
    }
  }
  return copied;
}

std::int64_t move_audit_queue(Db& main, const std::string& main_path) {
  if (main.backend() != Backend::sqlite || main_path.empty()) return 0;
  if (!path_exists(audit_queue_path(main_path)) && !path_exists(legacy_path(main_path))) return 0;
  AuditQueue q(main_path);
  return q.move_into(main);
}

}  // namespace bihuan::store
