// `bihuan trace` input and output: the three CSV files, dwell for visits without exit scan, the
// JSON shape, ISO 8601 with offsets, and malformed files named by file, row and field.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "core/iso_time.hpp"
#include "trace/batch/batch.hpp"

namespace bihuan::trace {
namespace {

std::string run(const std::string& scans, const std::string& cases, const std::string& venues = "",
                const TraceSettings& settings = {}) {
  const auto data = read_trace_files({"scans.csv", scans}, {"cases.csv", cases},
                                     {venues.empty() ? "" : "venues.csv", venues}, settings);
  return contacts_json(data, run_trace(data, settings, 0, 1));
}

// The message of the Error the files give, or "" when they are accepted.
std::string error_of(const std::string& scans, const std::string& cases, const std::string& venues = "") {
  try {
    run(scans, cases, venues);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

const std::string kCases = "doc_number,window_start,window_end\nA,2026-11-01T00:00:00+08:00,2026-11-03T00:00:00+08:00\n";

TEST(Iso8601, OffsetsAndZ) {
  const auto z = parse_iso8601("2026-11-29T08:15:00Z");
  ASSERT_TRUE(z);
  EXPECT_EQ(parse_iso8601("2026-11-29T16:15:00+08:00"), z);
  EXPECT_EQ(parse_iso8601("2026-11-29T16:15:00+0800"), z);
  EXPECT_EQ(parse_iso8601("2026-11-29T16:15:00+08"), z);
  EXPECT_EQ(parse_iso8601("2026-11-29T03:15:00-05:00"), z);
  EXPECT_EQ(parse_iso8601("2026-11-29 08:15:00Z"), z);
  EXPECT_EQ(to_unix_ms(*parse_iso8601("2026-11-29T08:15:00.250Z")) - to_unix_ms(*z), 250);
  for (const char* bad : {"2026-11-29T08:15:00", "2026-11-29", "2026-11-29T24:00:00Z", "2026-02-30T08:15:00Z",
                          "2026-11-29T08:15Z", "2026-11-29T08:15:00+15:00", "2026-11-29T08:15:00+8:00", "x",
                          "2026-11-29T08:15:00.Z", "2026-11-29T08:60:00Z", ""})
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
}

TEST(TraceFiles, JsonShapeOffsetsAndOrder) {
  const std::string scans =
      "doc_number,venue_code,entered_at,exited_at\n"
      "A,V1,2026-11-01T10:00:00+08:00,2026-11-01T11:00:00+08:00\n"
      "C,V1,2026-11-01T02:30:00Z,2026-11-01T03:30:00Z\n"           // 10:30-11:30 +08: 30 min
      "B,V1,2026-11-01T10:10:00+08:00,2026-11-01T10:29:59+08:00\n"  // 19 min 59 s -> 19
      "A,V2,2026-11-01T12:00:00+08:00,2026-11-01T13:00:00+08:00\n"
      "B,V2,2026-11-01T12:40:00+08:00,\n";                          // no exit: dwell 60 -> 20 min
  EXPECT_EQ(run(scans, kCases),
            "{\"contacts\":[{\"case\":\"A\",\"contact\":\"B\",\"venue\":\"V1\",\"overlap_minutes\":19},"
            "{\"case\":\"A\",\"contact\":\"B\",\"venue\":\"V2\",\"overlap_minutes\":20},"
            "{\"case\":\"A\",\"contact\":\"C\",\"venue\":\"V1\",\"overlap_minutes\":30}]}");
}

TEST(TraceFiles, MissingExitLastsTheVenueDwell) {
  const std::string scans =
      "doc_number,venue_code,entered_at,exited_at\n"
      "A,SHOP,2026-11-01T10:00:00Z,2026-11-01T12:00:00Z\n"
      "B,SHOP,2026-11-01T10:00:00Z,\n"
      "A,BUS,2026-11-01T13:00:00Z,2026-11-01T15:00:00Z\n"
      "B,BUS,2026-11-01T13:00:00Z,\n"
      "A,ELSE,2026-11-01T16:00:00Z,2026-11-01T18:00:00Z\n"
      "B,ELSE,2026-11-01T16:00:00Z,\n";
  const std::string venues = "code,type,dwell_minutes\nSHOP,shop,20\nBUS,transport,10\n";
  TraceSettings s;
  s.default_dwell_minutes = 45;  // ELSE is not in VENUES
  const auto data = read_trace_files({"scans.csv", scans}, {"cases.csv", kCases}, {"venues.csv", venues}, s);
  EXPECT_EQ(contacts_json(data, run_trace(data, s, 0, 1)),
            "{\"contacts\":[{\"case\":\"A\",\"contact\":\"B\",\"venue\":\"ELSE\",\"overlap_minutes\":45},"
            "{\"case\":\"A\",\"contact\":\"B\",\"venue\":\"SHOP\",\"overlap_minutes\":20}]}");
  // BUS: 10 minutes is under the default 15; a transport minimum of 10 makes it a contact.
  s.min_overlap_minutes["transport"] = 10;
  EXPECT_NE(contacts_json(data, run_trace(data, s, 0, 1)).find("\"venue\":\"BUS\",\"overlap_minutes\":10"), std::string::npos);
  // A dwell of 0 in VENUES: the type's dwell, else the default.
  s.dwell_minutes["shop"] = 90;
  const auto d2 = read_trace_files({"scans.csv", scans}, {"cases.csv", kCases},
                                   {"venues.csv", "code,type,dwell_minutes\nSHOP,shop,0\n"}, s);
  EXPECT_NE(contacts_json(d2, run_trace(d2, s, 0, 1)).find("\"venue\":\"SHOP\",\"overlap_minutes\":90"), std::string::npos);
}

TEST(TraceFiles, OutOfOrderScansAndColumnsInAnyOrder) {
  const std::string scans =
      "exited_at,entered_at,venue_code,doc_number,note\n"
      "2026-11-01T12:00:00Z,2026-11-01T11:00:00Z,V,D,x\n"
      "2026-11-01T10:30:00Z,2026-11-01T10:00:00Z,V,B,x\n"  // earlier than the row above
      "2026-11-01T10:20:00Z,2026-11-01T09:50:00Z,V,A,x\n"
      "2026-11-01T11:40:00Z,2026-11-01T11:20:00Z,V,A,x\n";
  EXPECT_EQ(run(scans, kCases),
            "{\"contacts\":[{\"case\":\"A\",\"contact\":\"B\",\"venue\":\"V\",\"overlap_minutes\":20},"
            "{\"case\":\"A\",\"contact\":\"D\",\"venue\":\"V\",\"overlap_minutes\":20}]}");
}

TEST(TraceFiles, NoContactsAndJsonEscaping) {
  EXPECT_EQ(run("doc_number,venue_code,entered_at,exited_at\n", kCases), "{\"contacts\":[]}");
  const std::string scans =
      "doc_number,venue_code,entered_at,exited_at\n"
      "A,\"V\"\"1\",2026-11-01T10:00:00Z,2026-11-01T11:00:00Z\n"
      "\"B\\\\x\",\"V\"\"1\",2026-11-01T10:00:00Z,2026-11-01T11:00:00Z\n";
  EXPECT_EQ(run(scans, kCases),
            "{\"contacts\":[{\"case\":\"A\",\"contact\":\"B\\\\\\\\x\",\"venue\":\"V\\\"1\",\"overlap_minutes\":60}]}");
}

TEST(TraceFiles, MalformedFilesNameFileRowAndField) {
  const std::string head = "doc_number,venue_code,entered_at,exited_at\n";
  struct Bad {
    std::string scans, cases, venues, expect;
  };
  const std::vector<Bad> bad = {
      {"doc_number,venue_code,entered_at\nA,V,2026-11-01T10:00:00Z\n", kCases, "",
       "scans.csv: row 1, field exited_at: missing column"},
      {head + "A,V,2026-11-01T10:00:00Z,\nB,V,2026-11-01 10:00,\n", kCases, "",
       "scans.csv: row 3, field entered_at: not an ISO 8601 time"},
      {head + "A,V,2026-11-01T10:00:00Z,2026-11-01T09:59:59Z\n", kCases, "",
       "scans.csv: row 2, field exited_at: exit '2026-11-01T09:59:59Z' is before the entry"},
      {head + "A,V,2026-11-01T10:00:00Z,2026-11-01T11:00:00\n", kCases, "",
       "scans.csv: row 2, field exited_at: not an ISO 8601 time"},
      {head + ",V,2026-11-01T10:00:00Z,\n", kCases, "", "scans.csv: row 2, field doc_number: empty"},
      {head + "A,,2026-11-01T10:00:00Z,\n", kCases, "", "scans.csv: row 2, field venue_code: empty"},
      {head + "A,V,2026-11-01T10:00:00Z\n", kCases, "", "scans.csv: row 2, field row: 3 fields where the header has 4"},
      {head + "A,\"V,2026-11-01T10:00:00Z,\n", kCases, "", "scans.csv"},
      {head, "doc_number,window_start,window_end\nA,2026-11-03T00:00:00Z,2026-11-02T23:59:59Z\n", "",
       "cases.csv: row 2, field window_end: window ends before it starts"},
      {head, kCases + "A,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z\n", "",
       "cases.csv: row 3, field doc_number: case 'A' is already on row 2"},
      {head, "doc_number,window_start\nA,2026-11-01T00:00:00Z\n", "", "cases.csv: row 1, field window_end: missing column"},
      {head, "doc_number,window_start,window_end\nA,yesterday,2026-11-02T00:00:00Z\n", "",
       "cases.csv: row 2, field window_start: not an ISO 8601 time"},
      {head, kCases, "code,type,dwell_minutes\nV,shop,twenty\n",
       "venues.csv: row 2, field dwell_minutes: 'twenty' is not a whole number"},
      {head, kCases, "code,type,dwell_minutes\nV,shop,-5\n", "venues.csv: row 2, field dwell_minutes"},
      {head, kCases, "code,type,dwell_minutes\nV,shop,99999\n", "venues.csv: row 2, field dwell_minutes"},
      {head, kCases, "code,type,dwell_minutes\nV,Shop Floor,20\n", "venues.csv: row 2, field type: 'Shop Floor' is not a venue type"},
      {head, kCases, "code,type,dwell_minutes\nV,,20\n", "venues.csv: row 2, field type"},
      {head, kCases, "code,type,dwell_minutes\nV,shop,20\nV,bar,20\n", "venues.csv: row 3, field code: venue 'V' is listed twice"},
      {head, kCases, "code,dwell_minutes\nV,20\n", "venues.csv: row 1, field type: missing column"},
      {"", kCases, "", "scans.csv: empty file"},
      {head + "A\xff,V,2026-11-01T10:00:00Z,\n", kCases, "", "scans.csv: row 2, field doc_number: not UTF-8"},
  };
  for (const auto& b : bad) {
    const auto msg = error_of(b.scans, b.cases, b.venues);
    EXPECT_NE(msg.find(b.expect), std::string::npos) << "expected '" << b.expect << "' in '" << msg << "'";
  }
  // A byte-order mark before the header is not part of the first column's name.
  EXPECT_EQ(error_of("\xEF\xBB\xBF" + head + "A,V,2026-11-01T10:00:00Z,\n", kCases), "");
}

TEST(TraceFiles, TypeMinutesFlags) {
  std::map<std::string, int, std::less<>> m;
  parse_type_minutes("restaurant=30", "--min-overlap", m);
  parse_type_minutes("transport=0", "--min-overlap", m);
  EXPECT_EQ(m.at("restaurant"), 30);
  EXPECT_EQ(m.at("transport"), 0);
  for (const char* bad : {"restaurant", "=30", "Restaurant=30", "shop=-1", "shop=x", "shop=99999", "shop floor=3"})
    EXPECT_THROW(parse_type_minutes(bad, "--min-overlap", m), Error) << bad;
}

}  // namespace
}  // namespace bihuan::trace
