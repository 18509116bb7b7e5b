#include "sinks/quakeml.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>

#include "test_util.h"

namespace rapid {
namespace {

using testing::Iso;
using testing::ReadFileText;
using testing::TempDir;

Pick MakePick(const std::string& trace_id, const std::string& phase, const char* peak_iso, float value) {
  return testing::MakePick(trace_id, phase, peak_iso, value, kNanosPerSecond / 4, kNanosPerSecond / 2);
}

const NanoTime kCreation = Iso("2024-12-15T12:05:00.5Z");

TEST(QuakeMlTest, FormatsPicksInsideOneContainerEvent) {
  std::vector<Pick> picks = {
      MakePick("TX.PB04.00", "S", "2024-12-15T11:59:10.25Z", 0.5f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.812f),
  };
  std::map<std::string, std::string> instruments = {{"4O.BP01.", "HH"}};
  QuakeMlOptions options;
  options.agency_id = "TX";
  options.instrument_by_trace_id = &instruments;
  const std::string info =
      "<creationInfo><agencyID>TX</agencyID><author>RAPID</author>"
      "<creationTime>2024-12-15T12:05:00.500000Z</creationTime></creationInfo>\n";
  const std::string expected =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" xmlns=\"http://quakeml.org/xmlns/bed/1.2\">\n"
      "  <eventParameters publicID=\"smi:rapid/eventParameters/20241215T120500.500000Z\">\n"
      "    <event publicID=\"smi:rapid/event/20241215T120500.500000Z\">\n"
      "      <pick publicID=\"smi:rapid/pick/4O.BP01./P/20241215T115903.120000Z\">\n"
      "        <comment><text>probability=0.812</text></comment>\n"
      "        <comment><text>trigger_on=2024-12-15T11:59:02.870000Z "
      "trigger_off=2024-12-15T11:59:03.620000Z</text></comment>\n"
      "        <time><value>2024-12-15T11:59:03.120000Z</value></time>\n"
      "        <waveformID networkCode=\"4O\" stationCode=\"BP01\" locationCode=\"\" channelCode=\"HHZ\"/>\n"
      "        <methodID>smi:rapid/method/phasenet</methodID>\n"
      "        <phaseHint>P</phaseHint>\n"
      "        <evaluationMode>automatic</evaluationMode>\n"
      "        " + info +
      "      </pick>\n"
      "      <pick publicID=\"smi:rapid/pick/TX.PB04.00/S/20241215T115910.250000Z\">\n"
      "        <comment><text>probability=0.5</text></comment>\n"
      "        <comment><text>trigger_on=2024-12-15T11:59:10.000000Z "
      "trigger_off=2024-12-15T11:59:10.750000Z</text></comment>\n"
      "        <time><value>2024-12-15T11:59:10.250000Z</value></time>\n"
      "        <waveformID networkCode=\"TX\" stationCode=\"PB04\" locationCode=\"00\"/>\n"
      "        <methodID>smi:rapid/method/phasenet</methodID>\n"
      "        <phaseHint>S</phaseHint>\n"
      "        <evaluationMode>automatic</evaluationMode>\n"
      "        " + info +
      "      </pick>\n"
      "      " + info +
      "    </event>\n"
      "    " + info +
      "  </eventParameters>\n"
      "</q:quakeml>\n";
  EXPECT_EQ(FormatQuakeMl(picks, "phasenet", kCreation, options), expected);
}

TEST(QuakeMlTest, EmptyPickListGivesAnEmptyEventAndNoAgencyWhenUnset) {
  const std::string info =
      "<creationInfo><author>RAPID</author><creationTime>2024-12-15T12:05:00.500000Z</creationTime></creationInfo>\n";
  EXPECT_EQ(FormatQuakeMl({}, "phasenet", kCreation),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" xmlns=\"http://quakeml.org/xmlns/bed/1.2\">\n"
            "  <eventParameters publicID=\"smi:rapid/eventParameters/20241215T120500.500000Z\">\n"
            "    <event publicID=\"smi:rapid/event/20241215T120500.500000Z\">\n"
            "      " + info +
            "    </event>\n"
            "    " + info +
            "  </eventParameters>\n"
            "</q:quakeml>\n");
}

TEST(QuakeMlTest, EscapesXmlSpecialsAndKeepsPublicIdsInTheAllowedAlphabet) {
  Pick p = MakePick("A&.<S\">.'~", "P g", "2024-12-15T11:59:03Z", 0.25f);
  p.start_time = kUnsetTime;  // no trigger comment without both trigger times
  QuakeMlOptions options;
  options.agency_id = "R&D <lab>\x01";
  std::string doc = FormatQuakeMl({p}, "m&m", kCreation, options);
  EXPECT_NE(doc.find("<pick publicID=\"smi:rapid/pick/A~26.~3CS~22~3E.~27~7E/P~20g/20241215T115903.000000Z\">"),
            std::string::npos)
      << doc;
  EXPECT_NE(doc.find("<waveformID networkCode=\"A&amp;\" stationCode=\"&lt;S&quot;&gt;\" "
                     "locationCode=\"&apos;~\"/>"),
            std::string::npos)
      << doc;
  EXPECT_NE(doc.find("<methodID>smi:rapid/method/m~26m</methodID>"), std::string::npos) << doc;
  EXPECT_NE(doc.find("<phaseHint>P g</phaseHint>"), std::string::npos) << doc;
  EXPECT_NE(doc.find("<agencyID>R&amp;D &lt;lab&gt;?</agencyID>"), std::string::npos) << doc;
  EXPECT_EQ(doc.find("trigger_on"), std::string::npos) << doc;
}

TEST(QuakeMlTest, PublicIdsAreUniqueAndStable) {
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.5f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.6f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:59:03.12Z", 0.7f),
  };
  std::string doc = FormatQuakeMl(picks, "phasenet", kCreation);
  EXPECT_NE(doc.find("\"smi:rapid/pick/4O.BP01./P/20241215T115903.120000Z\""), std::string::npos);
  EXPECT_NE(doc.find("\"smi:rapid/pick/4O.BP01./P/20241215T115903.120000Z/2\""), std::string::npos);
  EXPECT_NE(doc.find("\"smi:rapid/pick/4O.BP01./S/20241215T115903.120000Z\""), std::string::npos);
  // The same picks in another order give the same document.
  std::vector<Pick> reversed(picks.rbegin(), picks.rend());
  std::swap(reversed[1], reversed[2]);  // keep the two equal-key P picks in their original order
  EXPECT_EQ(FormatQuakeMl(reversed, "phasenet", kCreation), doc);
}

TEST(QuakeMlTest, WritesAtomicallyStreamedFromASpill) {
  TempDir tmp;
  std::vector<Pick> picks = {MakePick("4O.BP01.", "S", "2024-12-15T11:59:05.5Z", 0.7f),
                             MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.5f),
                             MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.6f)};
  PickSpill spill, empty;
  ASSERT_TRUE(spill.Open(tmp.path() + "/spill").ok());
  ASSERT_TRUE(empty.Open(tmp.path() + "/empty").ok());
  ASSERT_TRUE(spill.Add({picks[0]}).ok());  // two runs, merged back in order
  ASSERT_TRUE(spill.Add({picks[1], picks[2]}).ok());
  std::string path = tmp.path() + "/out/picks.xml";
  ASSERT_TRUE(WriteQuakeMl(path, spill, "phasenet", kCreation).ok());
  EXPECT_EQ(ReadFileText(path), FormatQuakeMl(picks, "phasenet", kCreation));
  ASSERT_TRUE(WriteQuakeMl(path, empty, "phasenet", kCreation).ok());  // replaced whole
  EXPECT_EQ(ReadFileText(path), FormatQuakeMl({}, "phasenet", kCreation));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path() + "/out")) ++entries;
  EXPECT_EQ(entries, 1);  // no temporary left behind

  std::ofstream(tmp.path() + "/file") << "x";
  Status s = WriteQuakeMl(tmp.path() + "/file/picks.xml", spill, "phasenet", kCreation);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
}

// ---- Checks with xmllint (Debian libxml2-utils): schema validation and reading values back. ----

// No Debian package ships the QuakeML 1.2 schema (ObsPy is not packaged in bookworm), so this is a
// RELAX NG grammar written for the subset RAPID emits. Its constraints are those of
// QuakeML-BED-1.2: the ResourceIdentifier pattern, xs:dateTime times, WaveformStreamID code
// lengths, phase length, the EvaluationMode values, CreationInfo field lengths, picks only inside
// events. It is stricter than the official grammar in one way: children must come in the XSD's
// sequence order (the official RELAX NG interleaves them).
constexpr char kSubsetSchema[] = R"(<?xml version="1.0"?>
<grammar xmlns="http://relaxng.org/ns/structure/1.0" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"
         ns="http://quakeml.org/xmlns/bed/1.2" datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">
  <start>
    <element name="q:quakeml">
      <element name="eventParameters">
        <ref name="PublicID"/>
        <element name="event">
          <ref name="PublicID"/>
          <zeroOrMore><ref name="Pick"/></zeroOrMore>
          <ref name="CreationInfo"/>
        </element>
        <ref name="CreationInfo"/>
      </element>
    </element>
  </start>
  <define name="ResourceIdentifier">
    <data type="anyURI">
      <param name="pattern">(smi|quakeml):[\w\d][\w\d\-\.\*\(\)_~']{2,}/[\w\d\-\.\*\(\)_~'][\w\d\-\.\*\(\)\+\?_~'=,;#/&amp;]*</param>
    </data>
  </define>
  <define name="PublicID">
    <attribute name="publicID"><ref name="ResourceIdentifier"/></attribute>
  </define>
  <define name="Code">
    <data type="string"><param name="maxLength">8</param></data>
  </define>
  <define name="CreationInfo">
    <element name="creationInfo">
      <optional>
        <element name="agencyID"><data type="string"><param name="maxLength">64</param></data></element>
      </optional>
      <element name="author"><data type="string"><param name="maxLength">128</param></data></element>
      <element name="creationTime"><data type="dateTime"/></element>
    </element>
  </define>
  <define name="Pick">
    <element name="pick">
      <ref name="PublicID"/>
      <zeroOrMore>
        <element name="comment"><element name="text"><data type="string"/></element></element>
      </zeroOrMore>
      <element name="time"><element name="value"><data type="dateTime"/></element></element>
      <element name="waveformID">
        <attribute name="networkCode"><ref name="Code"/></attribute>
        <attribute name="stationCode"><ref name="Code"/></attribute>
        <optional><attribute name="locationCode"><ref name="Code"/></attribute></optional>
        <optional><attribute name="channelCode"><ref name="Code"/></attribute></optional>
        <empty/>
      </element>
      <optional><element name="methodID"><ref name="ResourceIdentifier"/></element></optional>
      <element name="phaseHint"><data type="string"><param name="maxLength">32</param></data></element>
      <element name="evaluationMode"><choice><value>manual</value><value>automatic</value></choice></element>
      <ref name="CreationInfo"/>
    </element>
  </define>
</grammar>
)";

// Runs `command` through the shell; returns its exit status and its stdout+stderr in *output.
int RunShell(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  output->clear();
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) output->append(buf.data(), n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool HaveXmllint() {
  std::string ignored;
  return RunShell("xmllint --version", &ignored) == 0;
}

class QuakeMlXmllintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveXmllint()) GTEST_SKIP() << "xmllint not installed (scripts/install-deps.sh installs libxml2-utils)";
    std::ofstream(tmp_.path() + "/subset.rng") << kSubsetSchema;
  }

  // Writes `doc` and validates it against the subset grammar; returns xmllint's verdict.
  bool Validate(const std::string& doc, std::string* output) {
    std::ofstream(tmp_.path() + "/doc.xml") << doc;
    const std::string command =
        "xmllint --noout --relaxng '" + tmp_.path() + "/subset.rng' '" + tmp_.path() + "/doc.xml'";
    return RunShell(command, output) == 0;
  }

  // Whether the last validated document is well-formed XML.
  bool WellFormed() {
    std::string out;
    return RunShell("xmllint --noout '" + tmp_.path() + "/doc.xml'", &out) == 0;
  }

  // The string value of an XPath expression over the last validated document.
  std::string XPath(const std::string& expr) {
    std::string out;
    RunShell("xmllint --xpath \"" + expr + "\" '" + tmp_.path() + "/doc.xml'", &out);
    if (!out.empty() && out.back() == '\n') out.pop_back();  // xmllint ends its answer with a newline
    return out;
  }

  TempDir tmp_;
};

// Element `name` in any namespace (xmllint --xpath has no way to bind the default namespace).
std::string E(const std::string& name) { return "*[local-name()='" + name + "']"; }

TEST_F(QuakeMlXmllintTest, DocumentIsValidAndReadsBackToThePicks) {
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:03.12Z", 0.812f),
      MakePick("TX.PB04.00", "S", "2024-12-15T11:59:10.000001Z", 0.5f),
  };
  std::map<std::string, std::string> instruments = {{"TX.PB04.00", "HH"}};
  QuakeMlOptions options;
  options.agency_id = "TX";
  options.instrument_by_trace_id = &instruments;
  std::string output;
  ASSERT_TRUE(Validate(FormatQuakeMl(picks, "phasenet", kCreation, options), &output)) << output;

  const std::string pick = "//" + E("event") + "/" + E("pick");
  EXPECT_EQ(XPath("count(" + pick + ")"), "2");
  EXPECT_EQ(XPath("string((" + pick + ")[1]/" + E("time") + "/" + E("value") + ")"), "2024-12-15T11:59:03.120000Z");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("time") + "/" + E("value") + ")"), "2024-12-15T11:59:10.000001Z");
  EXPECT_EQ(XPath("string((" + pick + ")[1]/" + E("phaseHint") + ")"), "P");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("phaseHint") + ")"), "S");
  EXPECT_EQ(XPath("string((" + pick + ")[1]/" + E("comment") + "[1]/" + E("text") + ")"), "probability=0.812");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("waveformID") + "/@networkCode)"), "TX");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("waveformID") + "/@stationCode)"), "PB04");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("waveformID") + "/@locationCode)"), "00");
  EXPECT_EQ(XPath("string((" + pick + ")[2]/" + E("waveformID") + "/@channelCode)"), "HHZ");
  EXPECT_EQ(XPath("count((" + pick + ")[1]/" + E("waveformID") + "/@channelCode)"), "0");
  EXPECT_EQ(XPath("string((" + pick + ")[1]/@publicID)"), "smi:rapid/pick/4O.BP01./P/20241215T115903.120000Z");
  EXPECT_EQ(XPath("namespace-uri(/*)"), "http://quakeml.org/xmlns/quakeml/1.2");
  EXPECT_EQ(XPath("namespace-uri((" + pick + ")[1])"), "http://quakeml.org/xmlns/bed/1.2");
}

TEST_F(QuakeMlXmllintTest, EscapedDocumentIsValidAndReadsBackTheOriginalText) {
  Pick p = MakePick("A&.<S\">.'~", "P g", "2024-12-15T11:59:03Z", 0.25f);
  QuakeMlOptions options;
  options.agency_id = "R&D <lab>";
  std::string output;
  ASSERT_TRUE(Validate(FormatQuakeMl({p}, "m&m/v2", kCreation, options), &output)) << output;
  const std::string pick = "//" + E("pick");
  EXPECT_EQ(XPath("string(" + pick + "/" + E("waveformID") + "/@stationCode)"), "<S\">");
  EXPECT_EQ(XPath("string(" + pick + "/" + E("waveformID") + "/@locationCode)"), "'~");
  EXPECT_EQ(XPath("string(" + pick + "/" + E("creationInfo") + "/" + E("agencyID") + ")"), "R&D <lab>");
  EXPECT_EQ(XPath("string(" + pick + "/" + E("phaseHint") + ")"), "P g");
}

TEST_F(QuakeMlXmllintTest, TheGrammarRejectsWhatQuakeMlForbids) {
  // The subset grammar is only worth something if it fails bad documents: a bare pick in
  // eventParameters, and a publicID with a colon after the authority.
  std::string doc = FormatQuakeMl({MakePick("4O.BP01.", "P", "2024-12-15T11:59:03Z", 0.5f)}, "phasenet", kCreation);
  std::string output;
  ASSERT_TRUE(Validate(doc, &output)) << output;
  std::string bad_id = doc;
  bad_id.replace(bad_id.find("/pick/4O"), 6, "/pick:");
  EXPECT_FALSE(Validate(bad_id, &output));
  EXPECT_TRUE(WellFormed()) << "the grammar, not the XML syntax, must be what fails";
  std::string bare = doc;
  bare.erase(bare.find("    <event "), bare.find("      <pick ") - bare.find("    <event "));
  size_t event_info = bare.find("\n      <creationInfo>") + 1;
  bare.erase(event_info, bare.find("\n    <creationInfo>") + 1 - event_info);
  EXPECT_FALSE(Validate(bare, &output)) << bare;
  EXPECT_TRUE(WellFormed());
}

}  // namespace
}  // namespace rapid
