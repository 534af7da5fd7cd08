#include "ingest/encoding.hpp"

#include <iconv.h>

#include <cerrno>
#include <string>

#include "core/error.hpp"

namespace bihuan::ingest {

std::size_t utf8_bom_length(std::string_view data) noexcept {
  return data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0xEF &&
                 static_cast<unsigned char>(data[1]) == 0xBB && static_cast<unsigned char>(data[2]) == 0xBF
             ? 3
             : 0;
}

std::optional<std::size_t> first_invalid_utf8(std::string_view data) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = 0;
  while (i < n) {
    // Fast path over ASCII, eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w = 0;
      for (int k = 0; k < 8; ++k) w |= static_cast<std::uint64_t>(s[i + static_cast<std::size_t>(k)]) << (8 * k);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::nullopt;
}

std::int64_t line_of_offset(std::string_view data, std::size_t offset) noexcept {
  std::int64_t line = 1;
  const std::size_t end = offset < data.size() ? offset : data.size();
  for (std::size_t i = 0; i < end; ++i)
    if (data[i] == '\n') ++line;
  return line;
}

namespace {

class Iconv {
 public:
  Iconv(const char* to, const char* from) : cd_(iconv_open(to, from)) {
    if (cd_ == reinterpret_cast<iconv_t>(-1))
      fail(ErrorCode::internal, std::string("iconv cannot convert from ") + from + " to " + to);
  }
  ~Iconv() { iconv_close(cd_); }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  // Converts all of `in`; returns the offset of the first bad input byte, or nullopt.
  std::optional<std::size_t> convert(std::string_view in, std::string& out) {
    out.clear();
    out.resize(in.size() * 2 + 16);
    char* inp = const_cast<char*>(in.data());  // iconv's signature is not const-correct
    std::size_t inleft = in.size();
    std::size_t produced = 0;
    while (inleft > 0) {
      char* outp = out.data() + produced;
      std::size_t outleft = out.size() - produced;
      const std::size_t r = iconv(cd_, &inp, &inleft, &outp, &outleft);
      produced = out.size() - outleft;
      if (r != static_cast<std::size_t>(-1)) break;
      if (errno == E2BIG) {
        out.resize(out.size() * 2);
        continue;
      }
      // EILSEQ (invalid sequence) or EINVAL (truncated sequence at the end).
      return in.size() - inleft;
    }
    // Flush any shift state.
    char* outp = out.data() + produced;
    std::size_t outleft = out.size() - produced;
    iconv(cd_, nullptr, nullptr, &outp, &outleft);
    produced = out.size() - outleft;
    out.resize(produced);
    return std::nullopt;
  }

 private:
  iconv_t cd_;
};

}  // namespace

std::string gb18030_to_utf8(std::string_view data) {
  Iconv cv("UTF-8", "GB18030");
  std::string out;
  if (auto bad = cv.convert(data, out)) {
    const auto line = line_of_offset(data, *bad);
    fail(ErrorCode::invalid_argument,
         "line " + std::to_string(line) + ": bytes that are not valid GB18030", "line " + std::to_string(line));
  }
  return out;
}

std::string utf8_to_gb18030(std::string_view data) {
  Iconv cv("GB18030", "UTF-8");
  std::string out;
  if (auto bad = cv.convert(data, out)) {
    const auto line = line_of_offset(data, *bad);
    fail(ErrorCode::invalid_argument,
         "line " + std::to_string(line) + ": bytes that are not valid UTF-8", "line " + std::to_string(line));
  }
  return out;
}

std::string_view decode_text(std::string_view data, Encoding enc, std::string& storage, Encoding* detected) {
  const std::size_t bom = utf8_bom_length(data);
  if (enc == Encoding::auto_detect) enc = (bom || !first_invalid_utf8(data)) ? Encoding::utf8 : Encoding::gb18030;
  if (detected) *detected = enc;
  if (enc == Encoding::utf8) {
    const std::string_view body = data.substr(bom);
    if (auto bad = first_invalid_utf8(body)) {
      const auto line = line_of_offset(body, *bad);
      fail(ErrorCode::invalid_argument,
           "line " + std::to_string(line) + ": bytes that are not valid UTF-8 (is the file GB18030?)",
           "line " + std::to_string(line));
    }
    return body;
  }
  storage = gb18030_to_utf8(data);
  return std::string_view(storage).substr(utf8_bom_length(storage));
}

}  // namespace bihuan::ingest
