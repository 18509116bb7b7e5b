#include "core/csv.h"

#include <gtest/gtest.h>

namespace rapid {
namespace {

TEST(CsvTest, FieldsNeedingQuotesRoundTrip) {
  const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "two\nlines", "", "0-1"};
  const std::string row = CsvRow(fields);
  EXPECT_EQ(row, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,0-1");
  bool complete = false;
  auto rows = ParseCsv(row + "\n" + row, &complete);
  EXPECT_TRUE(complete);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], fields);
  EXPECT_EQ(rows[1], fields);
}

TEST(CsvTest, CrLfAndAnOpenQuoteAtTheEnd) {
  bool complete = true;
  auto rows = ParseCsv("a,b\r\nc,\"cut sho", &complete);
  EXPECT_FALSE(complete);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(ParseCsv("").empty());
}

}  // namespace
}  // namespace rapid
