// The one table model and its two writers, the cell helpers, and sections rendered and written.
#include "report/cells.h"
#include "report/output.h"
#include "report/section.h"
#include "report/table.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace mpsfb::report {
namespace {

Table two_columns() {
  Table t({{"op"}, {"penalty", Align::kRight}});
  t.add_row({"aten::roll", "2.31×"});
  return t;
}

TEST(Table, RejectsARowOfAnotherWidth) {
  Table t = two_columns();
  EXPECT_THROW(t.add_row({"one"}), std::logic_error);
  EXPECT_EQ(t.rows().size(), 1u);
}

TEST(Table, CsvQuotesOnlyCellsThatNeedIt) {
  Table t({{"a"}, {"b"}});
  t.add_row({"plain", "x,y"});
  t.add_row({"say \"hi\"", "two\nlines"});
  EXPECT_EQ(to_csv(t), "a,b\nplain,\"x,y\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n");
}

TEST(Table, MarkdownAlignsAndEscapesPipesAndLineBreaks) {
  Table t = two_columns();
  t.add_row({"a|b", "x\ny"});
  EXPECT_EQ(to_markdown(t),
            "| op | penalty |\n| --- | ---: |\n| aten::roll | 2.31× |\n| a\\|b | x y |\n");
}

TEST(Cells, LinkTheFirstThreeAndMarkNone) {
  EXPECT_EQ(links_cell({}), "—");
  EXPECT_EQ(links_cell({"https://a", "https://b", "https://c", "https://d"}),
            "[1](https://a) [2](https://b) [3](https://c)");
  EXPECT_EQ(votes_cell(std::nullopt), "—");
  EXPECT_EQ(votes_cell(int64_t{7}), "7");
  EXPECT_EQ(votes_csv(std::nullopt), "");
  EXPECT_EQ(number_cell(std::nullopt), "");
  EXPECT_EQ(number_cell(0.1), "0.1");
  EXPECT_EQ(code("aten::roll"), "`aten::roll`");
}

TEST(Sections, RenderInOrderAndLeaveEmptyOnesOut) {
  Report r;
  r.title = "T";
  r.opening = "Opening.\n\n";
  Section a("A");
  a.prose = "Prose.\n\n";
  a.table = two_columns();
  a.after = "After.\n\n";
  Section b("B");
  b.prose = "Only prose.\n\n";
  r.sections = {a, Section(), b};
  EXPECT_EQ(to_markdown(r),
            "# T\n\nOpening.\n\n## A\n\nProse.\n\n| op | penalty |\n| --- | ---: |\n| aten::roll | 2.31× |\n\n"
            "After.\n\n## B\n\nOnly prose.\n\n");
}

TEST(Sections, WriteTheirCsvBesideTheCasesEvenWhenLeftOut) {
  Report r;
  r.title = "T";
  Section shown("Ranking");
  shown.table = two_columns();
  shown.csv = "ranking.csv";
  shown.data = two_columns();
  Section hidden;  // nothing to show, but its CSV still says what it would hold
  hidden.csv = "empty.csv";
  hidden.data = Table({{"op"}});
  r.sections = {shown, hidden};
  OutputSet out;
  add_report(out, r, "rep/summary.md", "rep");
  ASSERT_EQ(out.files().size(), 3u);
  EXPECT_EQ(out.files()[0].first, "rep/ranking.csv");
  EXPECT_EQ(out.files()[0].second, "op,penalty\naten::roll,2.31×\n");
  EXPECT_EQ(out.files()[1].first, "rep/empty.csv");
  EXPECT_EQ(out.files()[1].second, "op\n");
  EXPECT_EQ(out.files()[2].first, "rep/summary.md");
  EXPECT_EQ(out.files()[2].second.find("empty"), std::string::npos);
}

}  // namespace
}  // namespace mpsfb::report
