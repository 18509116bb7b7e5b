// The live pick log (live/pick_log.h): daily CSV files appended as picks become final; after a
// kill, a torn last row is cut and the picks a restart gives again are written once, not twice;
// the QuakeML of a day starts from the rows already written.
#include <gtest/gtest.h>

#include <fstream>

#include "live/pick_log.h"
#include "sinks/picks_csv.h"
#include "test_util.h"

namespace rapid {
namespace {

Pick PickAt(const std::string& station, const std::string& iso, float value) {
  const NanoTime t = *ParseIsoTime(iso);
  return {"TX." + station + ".00", "P", t - 100'000'000, t, t + 50'000'000, value};
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(PickLogTest, ARestartWritesEachPickOnceAndCutsATornRow) {
  testing::TempDir dir;
  const std::string csv = dir.Path("picks/2024-12-15.csv");
  const Pick a = PickAt("PB01", "2024-12-15T11:58:10Z", 0.5f), b = PickAt("PB02", "2024-12-15T11:58:40Z", 0.25f),
             c = PickAt("PB01", "2024-12-15T11:59:20Z", 0.75f), d = PickAt("PB03", "2024-12-15T11:59:50Z", 0.125f);
  {
    PickLog log(dir.path(), "phasenet", false, nullptr);
    ASSERT_TRUE(log.Open().ok());
    ASSERT_TRUE(log.Write({a, b}).ok());
    ASSERT_TRUE(log.Write({c}).ok());
  }
  { std::ofstream(csv, std::ios::app) << "TX.PB03.00,P,2024-12-15T11:59:5"; }  // killed mid-row
  ASSERT_EQ(Lines(csv).size(), 5u);

  // The restart picks again from 11:58:39 (b's start is 11:58:39.9): b and c come again, d is new.
  std::vector<std::string> published;
  PickLog log(dir.path(), "phasenet", true, [&](const std::string& json) { published.push_back(json); });
  ASSERT_TRUE(log.Open(*ParseIsoTime("2024-12-15T11:58:39Z")).ok());
  ASSERT_TRUE(log.Write({b, d}).ok());
  ASSERT_TRUE(log.Write({c, c}).ok());  // a second c is a pick of its own: written
  EXPECT_EQ(log.repeats_dropped(), 2);
  EXPECT_EQ(log.written(), 2);
  const std::vector<std::string> lines = Lines(csv);
  std::vector<std::string> want = {"trace_id,phase,peak_time,peak_value,start_time,end_time,model"};
  for (const Pick& p : {a, b, c, d, c}) {
    const std::string text = FormatPicksCsv({p}, "phasenet");
    want.push_back(text.substr(text.find('\n') + 1, text.size() - text.find('\n') - 2));
  }
  EXPECT_EQ(lines, want);
  EXPECT_EQ(published, (std::vector<std::string>{PickJson(d, "phasenet"), PickJson(c, "phasenet")}));

  // The day's QuakeML holds the rows written before the restart too.
  ASSERT_TRUE(log.Flush(true).ok());
  const std::string xml = testing::ReadFileText(dir.Path("picks/2024-12-15.xml"));
  size_t picks = 0;
  for (size_t at = xml.find("<pick "); at != std::string::npos; at = xml.find("<pick ", at + 1)) ++picks;
  EXPECT_EQ(picks, 5u);
  EXPECT_NE(xml.find("2024-12-15T11:58:10"), std::string::npos);
}

TEST(PickLogTest, PicksCsvRowsParseBackToTheirPicks) {
  const Pick p = PickAt("PB01", "2024-12-15T11:58:10.123456Z", 0.123456789f);
  const std::string text = FormatPicksCsv({p}, "phasenet");
  Pick back;
  ASSERT_TRUE(ParsePicksCsvRow(text.substr(text.find('\n') + 1, text.size() - text.find('\n') - 2), &back));
  EXPECT_EQ(back.trace_id, p.trace_id);
  EXPECT_EQ(back.phase, p.phase);
  EXPECT_EQ(back.peak_time, p.peak_time);
  EXPECT_EQ(back.start_time, p.start_time);
  EXPECT_EQ(back.end_time, p.end_time);
  EXPECT_EQ(back.peak_value, p.peak_value);
  EXPECT_FALSE(ParsePicksCsvRow("TX.PB01.00,P,2024-12-15T11:58:10Z,0.5", &back));
  EXPECT_FALSE(ParsePicksCsvRow("TX.PB01.00,P,yesterday,0.5,2024-12-15T11:58:10Z,2024-12-15T11:58:10Z,m", &back));
  EXPECT_FALSE(ParsePicksCsvRow("TX.PB01.00,P,2024-12-15T11:58:10Z,half,2024-12-15T11:58:10Z,2024-12-15T11:58:10Z,m", &back));
}

}  // namespace
}  // namespace rapid
