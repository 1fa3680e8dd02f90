#include "common/bytes.h"

#include "gtest/gtest.h"

namespace shoebox {
namespace {

TEST(BytesTest, HexRoundTrips) {
  const std::string raw("\x00\x01\xab\xff", 4);
  EXPECT_EQ(ToHex(raw), "0001abff");
  EXPECT_EQ(*FromHex("0001abff"), raw);
  EXPECT_EQ(*FromHex("0001ABFF"), raw);
  EXPECT_EQ(*FromHex(""), "");
}

TEST(BytesTest, BadHexIsInvalidArgument) {
  EXPECT_EQ(FromHex("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromHex("zz").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BytesTest, PrintablePathKeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(PrintablePath("Photos/2024/été.jpg"), "Photos/2024/été.jpg");
  EXPECT_EQ(PrintablePath("日本/写真.png"), "日本/写真.png");
  EXPECT_EQ(PrintablePath(std::string("bad\xff\xfe.jpg")), "bad\\xff\\xfe.jpg");
  EXPECT_EQ(PrintablePath(std::string("new\nline\ttab")), "new\\x0aline\\x09tab");
  EXPECT_EQ(PrintablePath(std::string("\xc3", 1)), "\\xc3") << "truncated sequence";
  EXPECT_EQ(PrintablePath(std::string("\xc0\xaf")), "\\xc0\\xaf") << "overlong encoding";
  EXPECT_EQ(PrintablePath(std::string("\xed\xa0\x80")), "\\xed\\xa0\\x80") << "surrogate";
  EXPECT_EQ(PrintablePath("back\\slash"), "back\\x5cslash") << "escapes stay unambiguous";
}

TEST(BytesTest, PrintablePathEscapesWhatATerminalWouldObey) {
  // Issue 17: names and error texts a device chose reach the admin's
  // terminal and the logs. ESC sequences (clear screen, set title, fake
  // lines), 8-bit C1 controls (U+009B is CSI) and bidi overrides that
  // reorder what is shown must come out as inert text.
  EXPECT_EQ(PrintablePath("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(PrintablePath("ok\rFAKE"), "ok\\x0dFAKE");
  EXPECT_EQ(PrintablePath("\xc2\x9b"
                          "31m"),
            "\\u009b31m");
  EXPECT_EQ(PrintablePath("\xc2\x85"), "\\u0085");
  EXPECT_EQ(PrintablePath("photo\xe2\x80\xaegpj.exe"), "photo\\u202egpj.exe");
  EXPECT_EQ(PrintablePath("\xe2\x81\xa6x"), "\\u2066x");
  EXPECT_EQ(PrintablePath("\xc2\xa0nbsp \xc3\xa9"), "\xc2\xa0nbsp \xc3\xa9") << "printable";
}

TEST(BytesTest, Utf8TextEscapesOnlyInvalidBytes) {
  // Issue 18: texts for people stored in UTF-8 columns (errors, host names).
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9t\xc3\xa9 \xf0\x9f\x93\xb7"));
  EXPECT_FALSE(IsValidUtf8("latin1-\xe9t\xe9.jpg"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x93"));  // cut short
  EXPECT_EQ(Utf8Text("latin1-\xe9t\xe9.jpg"), "latin1-\\xe9t\\xe9.jpg");
  EXPECT_EQ(Utf8Text("keep\tthis \\ and \xc3\xa9"), "keep\tthis \\ and \xc3\xa9");
  EXPECT_EQ(Utf8Text("\xf0\x9f\x93"), "\\xf0\\x9f\\x93");
  EXPECT_TRUE(IsValidUtf8(Utf8Text(std::string("\xff\xfe\x00\x80", 4))));
  EXPECT_EQ(Utf8Prefix("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
}

TEST(BytesTest, AbslAndStdViewsConvert) {
  std::string_view s = "abc";
  absl::string_view a = AbslView(s);
  EXPECT_EQ(a, "abc");
  EXPECT_EQ(StdView(a), s);
}

}  // namespace
}  // namespace shoebox
