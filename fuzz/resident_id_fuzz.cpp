// Fuzzes the resident ID parser (core/resident_id): any text, any "today" between 1990 and
// 2169. Invariants: the throwing and non-throwing variants agree; an accepted number is 18
// characters with the right check character, parses again to itself, and its birth date is a
// real day no later than today.
#include <chrono>

#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "fuzz_common.hpp"

using namespace bihuan;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const unsigned offset = in.byte() | (static_cast<unsigned>(in.byte()) << 8);
  const Date today{std::chrono::sys_days{fuzz::ymd(1990, 1, 1)} + std::chrono::days{offset}};
  const std::string_view text = in.rest();

  const auto reason = resident_id_error(text, today);
  ResidentId id;
  bool ok = true;
  try {
    id = parse_resident_id(text, today, "doc_number");
  } catch (const Error& e) {
    ok = false;
    BIHUAN_FUZZ_CHECK(e.code() == ErrorCode::invalid_argument, "a rejected number is invalid_argument");
    BIHUAN_FUZZ_CHECK(e.field() == "doc_number", "the error names the caller's field");
    BIHUAN_FUZZ_CHECK(!std::string_view(e.what()).empty(), "the error has a reason");
  }
  BIHUAN_FUZZ_CHECK(ok == !reason.has_value(), "parse_resident_id and resident_id_error agree");
  if (!ok) return 0;

  BIHUAN_FUZZ_CHECK(id.number.size() == 18, "an accepted number has 18 characters");
  BIHUAN_FUZZ_CHECK(resident_id_check_char(std::string_view(id.number).substr(0, 17)) == id.number[17],
                    "an accepted number carries its check character");
  BIHUAN_FUZZ_CHECK(id.birth_date.ok() && id.birth_date <= today, "the birth date is a real day, not in the future");
  BIHUAN_FUZZ_CHECK(id.region_code == id.number.substr(0, 6), "the region code is the first six digits");
  BIHUAN_FUZZ_CHECK(id.sex == ((id.number[16] - '0') % 2 == 1 ? Sex::male : Sex::female), "odd sequence = male");
  const ResidentId again = parse_resident_id(id.number, today, "doc_number");
  BIHUAN_FUZZ_CHECK(again.number == id.number && again.birth_date == id.birth_date, "the normal form parses to itself");
  return 0;
}
