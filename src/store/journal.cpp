#include "store/journal.hpp"

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
#include <utility>

#include "core/error.hpp"

namespace bihuan::store::journal {

namespace {

namespace fs = std::filesystem;

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

[[noreturn]] void fail_io(const std::string& what, const std::string& doing, int err) {
  fail(ErrorCode::unavailable, what + ": " + doing + ": " + std::strerror(err));
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
std::string read_from(int fd, std::int64_t offset, const std::string& what) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io(what, "cannot read a segment", errno);
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

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

// --- Framing ---------------------------------------------------------------------------------------

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

// Little-endian whatever the host, gathered first and appended at once (one capacity check, not
// one per byte: the scan queue frames every visit on the I/O thread).
void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
  out.append(b, sizeof b);
}
void put_i64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (8 * i)) & 0xFFu);
  out.append(b, sizeof b);
}
void put_str(std::string& out, std::string_view s) {
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

std::size_t begin_record(std::string& out) {
  const std::size_t start = out.size();
  out.append(kHeader, '\0');
  return start;
}

void end_record(std::string& out, std::size_t start) {
  const std::string_view payload(out.data() + start + kHeader, out.size() - start - kHeader);
  const auto len = static_cast<std::uint32_t>(payload.size());
  const std::uint32_t crc = crc32(payload);
  for (std::size_t i = 0; i < 4; ++i) {
    out[start + i] = static_cast<char>((len >> (8 * i)) & 0xFFu);
    out[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFu);
  }
}

bool Reader::i64(std::int64_t& v) {
  if (p_.size() - pos_ < 8) return false;
  v = get_i64(p_.data() + pos_);
  pos_ += 8;
  return true;
}

bool Reader::u8(std::uint8_t& v) {
  if (p_.size() - pos_ < 1) return false;
  v = static_cast<std::uint8_t>(p_[pos_]);
  pos_ += 1;
  return true;
}

bool Reader::str(std::string_view& s) {
  if (p_.size() - pos_ < 4) return false;
  const std::uint32_t n = get_u32(p_.data() + pos_);
  pos_ += 4;
  if (p_.size() - pos_ < n) return false;
  s = p_.substr(pos_, n);
  pos_ += n;
  return true;
}

// --- Writing ---------------------------------------------------------------------------------------

Writer::Writer(std::string dir, std::int64_t segment_bytes, std::string what)
    : dir_(std::move(dir)), what_(std::move(what)), segment_bytes_(segment_bytes) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) fail_io(what_, "cannot create " + dir_, errno);
}

Writer::~Writer() { end_segment(); }

void Writer::begin_segment() {
  // Created under a name the movers pass over, locked, then renamed: a visible segment is always
  // locked while its writer lives (a mover deletes only segments whose lock it can take).
  for (int attempt = 0;; ++attempt) {
    const std::string uid = segment_uid();
    const std::string tmp = dir_ + "/" + uid + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 3) continue;
      fail_io(what_, "cannot create a segment in " + dir_, errno);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::rename(tmp.c_str(), (dir_ + "/" + uid + ".log").c_str()) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      if (attempt < 3) continue;
      fail_io(what_, "cannot begin a segment in " + dir_, err);
    }
    fd_ = fd;
    written_ = 0;
    return;
  }
}

void Writer::end_segment() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock: the movers may delete it once moved
  fd_ = -1;
  written_ = 0;
}

void Writer::append(std::string_view framed) {
  if (framed.empty()) return;
  if (fd_ < 0) begin_segment();
  if (!write_all(fd_, framed)) {
    const int err = errno;
    // Nothing of the group stays: cut what was written, and give the segment up either way (if
    // the cut failed too, its movers drop the damaged end once this writer has let go of it).
    if (::ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
      // Left to the movers (see above).
    }
    end_segment();
    fail_io(what_, "cannot append to a segment", err);
  }
  written_ += static_cast<std::int64_t>(framed.size());
  if (written_ >= segment_bytes_) end_segment();
}

// --- Moving ----------------------------------------------------------------------------------------

std::int64_t mark_of(Db& main, const std::string& mark_table, const std::string& uid) {
  Q m(main, "SELECT moved FROM " + mark_table + " WHERE queue_uid = ?");
  m.text(uid);
  return m.next() ? m.int64(0) : 0;
}

void set_mark(Db& main, const std::string& mark_table, const std::string& uid, std::int64_t moved) {
  Q up(main, "INSERT INTO " + mark_table + " (queue_uid, moved) VALUES (?, ?) "
             "ON CONFLICT (queue_uid) DO UPDATE SET moved = excluded.moved");
  up.text(uid).i64(moved);
  up.run();
}

std::string legacy_uid(Db& queue) {
  {
    Q t(queue, "SELECT 1 FROM sqlite_master WHERE name = 'queue_meta'");
    if (!t.next()) return std::string(1, '-');
  }
  Q u(queue, "SELECT uid FROM queue_meta LIMIT 1");
  return u.next() ? u.str(0) : std::string(1, '-');
}

void remove_legacy(const std::string& path) {
  std::error_code ec;
  if (fs::remove(path, ec)) {
    fs::remove(path + "-wal", ec);
    fs::remove(path + "-shm", ec);
  }
}


void move_segments(Db& main, const std::string& dir, const std::string& mark_table, Sink& sink,
                   const std::string& what) {
  std::vector<Segment> segments;
  // The main file's write lock first: a second mover waits here and then sees this one's marks.
  main.begin();
  try {
    std::vector<std::string> present;
    std::vector<fs::path> paths;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".log") paths.push_back(it->path());
    if (ec && ec != std::errc::no_such_file_or_directory) fail_io(what, "cannot list " + dir, ec.value());
    std::sort(paths.begin(), paths.end());  // one writer's segments in the order it wrote them
    for (const auto& p : paths) {
      Segment s;
      s.uid = p.stem().string();
      s.path = p;
      s.fd = Fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (s.fd.get() < 0) continue;  // deleted meanwhile by a mover that had moved all of it
      present.push_back(s.uid);
      const std::int64_t mark = mark_of(main, mark_table, s.uid);
      const std::string bytes = read_from(s.fd.get(), mark, what);
      s.moved = mark + sink.copy(main, bytes);
      if (s.moved != mark) set_mark(main, mark_table, s.uid, s.moved);
      segments.push_back(std::move(s));
    }
    for (auto& uid : sink.also(main)) present.push_back(std::move(uid));
    // Marks of segments deleted after their last move: nothing can add to them any more. (Marks
    // are written only under the write lock held here, so a segment begun after the listing has
    // none yet.)
    std::vector<std::string> stale;
    {
      Q marks(main, "SELECT queue_uid FROM " + mark_table);
      while (marks.next()) {
        std::string uid = marks.str(0);
        if (std::find(present.begin(), present.end(), uid) != present.end()) continue;
        if (!path_exists(fs::path(dir) / (uid + ".log"))) stale.push_back(std::move(uid));
      }
    }
    for (const auto& uid : stale) {
      Q del(main, "DELETE FROM " + mark_table + " WHERE queue_uid = ?");
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
  // recorded and dropped.
  for (auto& s : segments) {
    if (::flock(s.fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its writer is still at it
    const std::string rest = read_from(s.fd.get(), s.moved, what);
    if (!rest.empty()) {
      main.begin();
      try {
        // Whole records written after this move's read are moved now; only then is the rest damage.
        if (mark_of(main, mark_table, s.uid) != s.moved) {  // another mover got further meanwhile
          main.rollback();
          continue;
        }
        const std::int64_t took = sink.copy(main, rest);
        if (took < static_cast<std::int64_t>(rest.size()))
          sink.dropped_tail(main, s.uid, s.moved + took, static_cast<std::int64_t>(rest.size()) - took);
        set_mark(main, mark_table, s.uid, s.moved + static_cast<std::int64_t>(rest.size()));
        main.commit();
      } catch (...) {
        main.rollback();
        throw;
      }
    }
    ::unlink(s.path.c_str());  // its mark goes with the next move
  }
}

}  // namespace bihuan::store::journal
