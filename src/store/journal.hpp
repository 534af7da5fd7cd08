#pragma once
// Journal segments: the append-only files behind the audit queue (store/audit_queue.hpp) and the
// venue-scan queue (store/scan_queue.hpp) of a SQLite deployment.
//
// A queue is a directory of segment files. Each JournalWriter owns one segment at a time
// (`<uid>.log`, uid = the time it was begun and random bits, created as `<uid>.tmp`, locked with
// flock(LOCK_EX) and then renamed, so that a segment that is visible is always locked while its
// writer lives). A group of records is one write() of framed records (u32 payload length, u32
// CRC-32 of the payload, the payload): a write that returned has reached the kernel, as durable as
// a commit to the main file with synchronous=NORMAL (it survives kill -9 of the process). A failed
// write is cut off again and the segment given up. A segment is closed after `segment_bytes` and
// a new one begun.
//
// move_segments() copies the records into the main file exactly once: the records of each
// segment go in together with the segment's byte offset moved so far (a mark table keyed by the
// segment's uid) in one transaction of the main file, which also serialises movers of all threads
// and processes. Only whole records whose checksum holds are moved; a record being written is left
// for the next move. A segment whose writer has gone (its lock can be taken) and that is moved to
// its end is deleted, and its mark after it; bytes after the last whole record of a segment whose
// writer has gone (a write cut by a power loss) are reported to the queue and dropped.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace bihuan::store::journal {

// --- Framing -------------------------------------------------------------------------------------
std::uint32_t crc32(std::string_view bytes);
void put_u32(std::string& out, std::uint32_t v);
void put_i64(std::string& out, std::int64_t v);
void put_str(std::string& out, std::string_view s);  // u32 length and the bytes
std::uint32_t get_u32(const char* p);
std::int64_t get_i64(const char* p);

// A record: begin_record() reserves its header in `out` and returns where it starts; the payload
// is appended after it; end_record() writes the header (length and checksum).
std::size_t begin_record(std::string& out);
void end_record(std::string& out, std::size_t start);

// Reads a payload's fields in order; every getter returns false once the payload is too short.
class Reader {
 public:
  explicit Reader(std::string_view payload) : p_(payload) {}
  bool i64(std::int64_t& v);
  bool u8(std::uint8_t& v);
  bool str(std::string_view& s);
  bool done() const { return pos_ == p_.size(); }

 private:
  std::string_view p_;
  std::size_t pos_ = 0;
};

// Calls `fn` with each whole record's payload of `bytes` whose checksum holds, in order, until one
// does not (or `fn` returns false: damage); returns the bytes those records took.
template <typename Fn>
std::int64_t for_each_record(std::string_view bytes, Fn&& fn);

// --- Writing -------------------------------------------------------------------------------------
class Writer {
 public:
  // `what` names the queue in errors ("audit queue"); `dir` is created when missing.
  Writer(std::string dir, std::int64_t segment_bytes, std::string what);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Appends framed records with one write(); on failure nothing of them stays (ErrorCode::
  // unavailable) and the segment is given up.
  void append(std::string_view framed);
  const std::string& dir() const { return dir_; }

 private:
  void begin_segment();
  void end_segment();
  std::string dir_, what_;
  std::int64_t segment_bytes_;
  int fd_ = -1;
  std::int64_t written_ = 0;
};

// --- Moving --------------------------------------------------------------------------------------
// What a queue does with its records when they are moved.
class Sink {
 public:
  virtual ~Sink() = default;
  // Copies the whole records of `bytes` (a segment's, from its mark) into the main file, inside
  // the move's transaction; returns the bytes they took (a damaged or half-written record and
  // what follows are left).
  virtual std::int64_t copy(Db& main, std::string_view bytes) = 0;
  // Records that `bytes` bytes at `offset` of segment `uid` were dropped (a cut write), inside a
  // transaction of the main file.
  virtual void dropped_tail(Db& main, const std::string& uid, std::int64_t offset, std::int64_t bytes) = 0;
  // Runs inside the move's transaction after the segments (an older queue's drain); returns the
  // uids of marks to keep although no segment has them.
  virtual std::vector<std::string> also(Db& /*main*/) { return {}; }
};

// A queue's marks (a mark table's rows: queue_uid, moved): how far the queue `uid` was moved.
std::int64_t mark_of(Db& main, const std::string& mark_table, const std::string& uid);
void set_mark(Db& main, const std::string& mark_table, const std::string& uid, std::int64_t moved);

// A queue file of earlier versions (a SQLite database with its uid in table queue_meta): the uid,
// or "-" when it has none (an empty file, nothing to drain). remove_legacy() deletes the file with
// its -wal and -shm once drained.
std::string legacy_uid(Db& queue);
void remove_legacy(const std::string& path);

// Moves every segment of `dir` through `sink` into the main file `main` (a connection outside any
// transaction), with the marks in `mark_table` (columns queue_uid, moved).
void move_segments(Db& main, const std::string& dir, const std::string& mark_table, Sink& sink, const std::string& what);

// --- Inline ---------------------------------------------------------------------------------------
inline constexpr std::size_t kHeader = 8;
inline constexpr std::uint32_t kMaxPayload = 64u << 20;  // larger lengths are damage, not records

template <typename Fn>
std::int64_t for_each_record(std::string_view bytes, Fn&& fn) {
  std::size_t pos = 0;
  while (bytes.size() - pos >= kHeader) {
    const std::uint32_t len = get_u32(bytes.data() + pos);
    if (len > kMaxPayload || bytes.size() - pos - kHeader < len) break;
    const std::string_view payload = bytes.substr(pos + kHeader, len);
    if (crc32(payload) != get_u32(bytes.data() + pos + 4) || !fn(payload)) break;
    pos += kHeader + len;
  }
  return static_cast<std::int64_t>(pos);
}

}  // namespace bihuan::store::journal
