// CSV reader, encodings, header mapping and value parsers (no database).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "ingest/fields.hpp"

namespace bihuan::ingest {
namespace {

using Fields = std::vector<std::string>;

TEST(Csv, PlainQuotedAndDoubledQuotes) {
  auto recs = parse_csv("a,b,c\n1,\"x,y\",\"say \"\"hi\"\"\"\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(recs[1].fields, (Fields{"1", "x,y", "say \"hi\""}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_TRUE(recs[1].error.empty());
}

TEST(Csv, CrlfAndMissingFinalNewline) {
  auto recs = parse_csv("a,b\r\n1,2\r\n3,4");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields, (Fields{"1", "2"}));
  EXPECT_EQ(recs[2].fields, (Fields{"3", "4"}));
  EXPECT_EQ(recs[2].line, 3);
}

TEST(Csv, EmptyFieldsAndTrailingComma) {
  auto recs = parse_csv("a,,c,\n,,,\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields, (Fields{"a", "", "c", ""}));
  EXPECT_EQ(recs[1].fields, (Fields{"", "", "", ""}));
}

TEST(Csv, EmbeddedNewlinesKeepLineNumbers) {
  auto recs = parse_csv("h1,h2\n\"line one\nline two\",x\r\n\"a\r\nb\",y\nlast,z\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].fields[0], "line one\nline two");
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2].fields[0], "a\r\nb");
  EXPECT_EQ(recs[2].line, 4);
  EXPECT_EQ(recs[3].line, 6);
}

TEST(Csv, BlankLinesAreSkippedButCounted) {
  auto recs = parse_csv("h\n\n\nv\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].line, 4);
}

TEST(Csv, TextAfterClosingQuoteIsARowErrorAndTheReaderResynchronises) {
  auto recs = parse_csv("a,b\n\"x\"y,2\n3,4\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_NE(recs[1].error.find("after the closing quote"), std::string::npos);
  EXPECT_TRUE(recs[2].error.empty());
  EXPECT_EQ(recs[2].fields, (Fields{"3", "4"}));
  EXPECT_EQ(recs[2].line, 3);
}

TEST(Csv, UnterminatedQuoteOnTheLastLineIsARowError) {
  auto recs = parse_csv("a,b\n1,2\n3,\"open");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].line, 3);
  EXPECT_NE(recs[2].error.find("unterminated"), std::string::npos);
}

TEST(Csv, UnterminatedQuoteSwallowingTheFileIsAFileError) {
  try {
    parse_csv("a,b\n1,\"open\n3,4\n5,6\n");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(Csv, CellRoundTrips) {
  const std::string tricky = "a,\"b\"\nc";
  auto recs = parse_csv(csv_cell(tricky) + "," + csv_cell("plain") + "\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields, (Fields{tricky, "plain"}));
}

TEST(CsvWriter, NeutralisesFormulasAtTheStartOfACell) {
  EXPECT_EQ(csv_cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(csv_cell("=1+2"), "'=1+2");
  EXPECT_EQ(csv_cell("+8613800000000"), "'+8613800000000");
  EXPECT_EQ(csv_cell("-2+3"), "'-2+3");
  EXPECT_EQ(csv_cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_cell("\t=1"), "'\t=1");
  EXPECT_EQ(csv_cell("\r=1"), "\"'\r=1\"");  // CR also forces quoting
  // Only the first character counts; ordinary text is left alone.
  EXPECT_EQ(csv_cell("a=b"), "a=b");
  EXPECT_EQ(csv_cell("张三"), "张三");
  EXPECT_EQ(csv_cell(""), "");
  EXPECT_EQ(csv_cell(" =1"), " =1");
}

TEST(CsvWriter, QuotesPerRfc4180) {
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_cell("cr\rhere"), "\"cr\rhere\"");
}

TEST(CsvWriter, RowsNumbersAndBom) {
  CsvWriter w;
  w.row({"id", "name"});
  w.number(-5).text("=cmd|' /C calc'!A0");
  w.end_row();
  w.number(7).text("王,五");
  w.end_row();
  EXPECT_EQ(w.str(), "\xEF\xBB\xBFid,name\r\n-5,'=cmd|' /C calc'!A0\r\n7,\"王,五\"\r\n");
  CsvWriter plain(false);
  plain.row({"a"});
  EXPECT_EQ(plain.str(), "a\r\n");
  // What the writer wrote reads back (the apostrophe stays: it is what a spreadsheet shows).
  auto recs = parse_csv(w.str().substr(3));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields, (Fields{"-5", "'=cmd|' /C calc'!A0"}));
  EXPECT_EQ(recs[2].fields, (Fields{"7", "王,五"}));
}

TEST(Encoding, Utf8Validation) {
  EXPECT_FALSE(first_invalid_utf8("plain ascii and 中文"));
  EXPECT_EQ(first_invalid_utf8("ab\xC0\xAF"), 2u);         // overlong
  EXPECT_EQ(first_invalid_utf8("ab\xED\xA0\x80"), 2u);     // surrogate
  EXPECT_EQ(first_invalid_utf8("abcdefghij\xE4\xB8"), 10u);  // truncated at the end
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);   // above U+10FFFF
}

TEST(Encoding, BomIsStripped) {
  std::string storage;
  Encoding used{};
  auto text = decode_text("\xEF\xBB\xBF姓名,x\n", Encoding::auto_detect, storage, &used);
  EXPECT_EQ(text, "姓名,x\n");
  EXPECT_EQ(used, Encoding::utf8);
}

TEST(Encoding, Gb18030IsDetectedAndConverted) {
  const std::string utf8 = "姓名,住址\n张三,北京市朝阳区建外街道\n";
  const std::string gb = utf8_to_gb18030(utf8);
  ASSERT_NE(gb, utf8);
  EXPECT_TRUE(first_invalid_utf8(gb).has_value());  // GB18030 Chinese is not valid UTF-8
  std::string storage;
  Encoding used{};
  EXPECT_EQ(decode_text(gb, Encoding::auto_detect, storage, &used), utf8);
  EXPECT_EQ(used, Encoding::gb18030);
  EXPECT_EQ(decode_text(gb, Encoding::gb18030, storage), utf8);
}

TEST(Encoding, UndecodableBytesNameTheLine) {
  // 0xFF is never valid in GB18030 nor in UTF-8.
  const std::string bad = "a,b\n1,2\nx\xFFy,3\n";
  std::string storage;
  for (auto enc : {Encoding::auto_detect, Encoding::gb18030, Encoding::utf8}) {
    try {
      decode_text(bad, enc, storage);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
  }
}

TEST(Header, ChineseAndEnglishNamesMap) {
  auto m = map_header(ImportKind::persons, {"\xEF\xBB\xBF身份证号码", " 姓名 ", "Phone", "*网格编码", "备注", "出生日期"});
  const auto& specs = columns_of(ImportKind::persons);
  auto idx = [&](std::string_view key) {
    for (std::size_t i = 0; i < specs.size(); ++i)
      if (specs[i].key == key) return m.index[i];
    return -2;
  };
  EXPECT_EQ(idx("id_number"), 0);
  EXPECT_EQ(idx("name"), 1);
  EXPECT_EQ(idx("phone"), 2);
  EXPECT_EQ(idx("area_code"), 3);
  EXPECT_EQ(idx("birth_date"), 5);
  EXPECT_EQ(idx("sex"), -1);
  EXPECT_EQ(m.names[1], "姓名");
}

TEST(Header, MissingRequiredColumnNamesIt) {
  try {
    map_header(ImportKind::venues, {"场所码", "名称", "区划"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "type");
    EXPECT_NE(std::string(e.what()).find("type"), std::string::npos);
  }
}

TEST(Header, TwoColumnsForOneFieldAreRejected) {
  EXPECT_THROW(map_header(ImportKind::persons, {"身份证号", "证件号码", "姓名"}), Error);
}

TEST(Values, Dates) {
  using namespace std::chrono;
  const Date d{year{1990}, month{3}, day{7}};
  for (const char* s : {"1990-03-07", "1990/3/7", "19900307", "1990年3月7日", "1990.03.07", " 1990-03-07 "})
    EXPECT_EQ(parse_flexible_date(s), d) << s;
  for (const char* s : {"1990-02-30", "90-3-7", "1990-03", "1990-03-07-", "19900230", "abc", "1990/13/01"})
    EXPECT_FALSE(parse_flexible_date(s)) << s;
}

TEST(Values, SexYesNoAndLabels) {
  EXPECT_EQ(parse_sex("男"), Sex::male);
  EXPECT_EQ(parse_sex("Female"), Sex::female);
  EXPECT_FALSE(parse_sex("x"));
  EXPECT_EQ(parse_yes_no("是"), true);
  EXPECT_EQ(parse_yes_no("FALSE"), false);
  EXPECT_FALSE(parse_yes_no("maybe"));
  EXPECT_EQ(parse_venue_type("农贸市场"), VenueType::market);
  EXPECT_EQ(parse_venue_type("shopping_mall"), VenueType::shopping_mall);
  EXPECT_FALSE(parse_venue_type("太空站"));
  EXPECT_EQ(parse_org_kind("疾控中心"), OrgKind::cdc);
  EXPECT_EQ(parse_org_kind("quarantine_site"), OrgKind::quarantine_site);
  EXPECT_EQ(parse_doc_type("护照"), DocType::passport);
  EXPECT_EQ(parse_nationality("美国"), "USA");
  EXPECT_EQ(parse_nationality("kor"), "KOR");
  EXPECT_FALSE(parse_nationality("Korea"));
}

TEST(Values, Phones) {
  EXPECT_EQ(normalize_phone("13812345678"), "13812345678");
  EXPECT_EQ(normalize_phone("138 1234 5678"), "13812345678");
  EXPECT_EQ(normalize_phone("+86 138-1234-5678"), "13812345678");
  EXPECT_EQ(normalize_phone("010-65123456"), "010-65123456");
  EXPECT_EQ(normalize_phone("+14155550100"), "+14155550100");
  std::string why;
  EXPECT_FALSE(normalize_phone("12812345678", &why));
  EXPECT_NE(why.find("13-19"), std::string::npos);
  EXPECT_FALSE(normalize_phone("1381234567"));
  EXPECT_FALSE(normalize_phone("138-1234-567a"));
}

}  // namespace
}  // namespace bihuan::ingest
