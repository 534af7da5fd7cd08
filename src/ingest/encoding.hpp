#pragma once
// Text encodings of imported files. Everything inside bihuan is UTF-8; files from Excel in China
// are often GB18030 (a superset of GBK and GB2312). Conversion uses glibc's iconv(3).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/import.hpp"

namespace bihuan::ingest {

// Length of a leading UTF-8 byte-order mark (0 or 3).
std::size_t utf8_bom_length(std::string_view data) noexcept;
// Offset of the first byte that is not part of a well-formed UTF-8 sequence (overlongs,
// surrogates and code points above U+10FFFF are ill-formed); nullopt when all is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view data) noexcept;
// 1-based line number of a byte offset (counts LF bytes before it).
std::int64_t line_of_offset(std::string_view data, std::size_t offset) noexcept;

// Converts GB18030 bytes to UTF-8. Throws Error(invalid_argument) naming the line of the first
// undecodable byte sequence.
std::string gb18030_to_utf8(std::string_view data);
// Converts UTF-8 to GB18030 (for tests and exports). Throws on invalid UTF-8.
std::string utf8_to_gb18030(std::string_view data);

// Decodes a file to UTF-8 without BOM. auto_detect: valid UTF-8 (or a UTF-8 BOM) is taken as
// UTF-8, anything else as GB18030. Returns a view into `data` when no conversion is needed,
// else into `storage`. `detected` (optional) receives the encoding actually used.
std::string_view decode_text(std::string_view data, Encoding enc, std::string& storage,
                             Encoding* detected = nullptr);

}  // namespace bihuan::ingest
