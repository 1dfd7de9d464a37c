// What the benchmark report says: the pain score, the ranking and its CSV, the requested ops
// that are native.
#include "run_json.h"

#include "report/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace mpsfb::report {
namespace {

using testing::case_row;
using testing::model_of;

const Section& section(const Report& r, const std::string& title_start) {
  const auto it = std::find_if(r.sections.begin(), r.sections.end(),
                               [&](const Section& s) { return s.title.rfind(title_start, 0) == 0; });
  if (it == r.sections.end()) throw std::runtime_error("no section " + title_start);
  return *it;
}

// A column of a section's CSV, by header.
std::vector<std::string> csv_column(const Section& s, const std::string& header) {
  const auto& cols = s.data->columns();
  const auto at = std::find_if(cols.begin(), cols.end(), [&](const Column& c) { return c.header == header; });
  if (at == cols.end()) throw std::runtime_error("no column " + header);
  std::vector<std::string> out;
  for (const auto& row : s.data->rows()) out.push_back(row[static_cast<size_t>(at - cols.begin())]);
  return out;
}

TEST(PainScore, IsTheProductOfTheLogsOfVotesAndOverhead) {
  EXPECT_DOUBLE_EQ(*pain_score(int64_t{3}, 255.0), 2.0 * 8.0);
  EXPECT_DOUBLE_EQ(*pain_score(int64_t{0}, 1e6), 0.0);       // nobody asked
  EXPECT_DOUBLE_EQ(*pain_score(int64_t{100}, -50.0), 0.0);   // it loses nothing
  EXPECT_DOUBLE_EQ(*pain_score(std::nullopt, 255.0), 0.0);   // no demand counts 0 votes
  EXPECT_FALSE(pain_score(int64_t{3}, std::nullopt));       // no device run: no score
  EXPECT_FALSE(pain_score(int64_t{3}, std::nan("")));
}

std::string fallback_label(const std::string& op) {
  return "fallback_ops=" + op + "; mps_verdict=falls back; mps_via=" + op + "; verdict_source=run time on MPS";
}

Model three_ops() {
  return model_of({{"device", "mps"}, {"torch_version", "2.13.0"}},
                  {case_row("op:aten::a/shape:1/dtype:f32/device:mps",
                            {{"cpu_us", 10}, {"dev_us", 265}, {"penalty", 26.5}, {"overhead_us", 255}, {"fallback", 1}},
                            fallback_label("aten::a")),
                   case_row("op:aten::b/shape:1/dtype:f32/device:mps",
                            {{"cpu_us", 10}, {"dev_us", 25}, {"penalty", 2.5}, {"overhead_us", 15}, {"fallback", 1}},
                            fallback_label("aten::b")),
                   case_row("op:aten::c/shape:1/dtype:f32/device:mps",
                            {{"cpu_us", 10}, {"dev_us", 5}, {"penalty", 0.5}, {"overhead_us", -5}, {"fallback", 0}},
                            "mps_verdict=native; verdict_source=run time on MPS")});
}

TargetsDemand demand(std::map<std::string, int64_t> votes) {
  TargetsDemand d;
  d.path = "targets.yaml";
  for (const auto& [op, v] : votes) {
    d.ops.push_back(op);
    d.by_op[op].votes = v;
    d.by_op[op].links = {"https://github.com/pytorch/pytorch/issues/1#issuecomment-" + std::to_string(v)};
  }
  return d;
}

TEST(Summary, RanksWhatFallsBackByPainAndWritesTheRankingExactly) {
  const Model m = three_ops();
  const TargetsDemand d = demand({{"aten::a", 3}, {"aten::b", 255}, {"aten::c", 9}});
  SummaryOptions o;
  o.demand = &d;
  const Report r = summary_report(m, o);
  const Section& top = section(r, "Top pain");
  ASSERT_TRUE(top.table);
  EXPECT_EQ(top.csv, "top_pain.csv");
  // a: log2(4) × log2(256) = 16; b: log2(256) × log2(16) = 32; c is native: not pain.
  EXPECT_EQ(csv_column(top, "op"), (std::vector<std::string>{"aten::b", "aten::a"}));
  EXPECT_EQ(csv_column(top, "pain"), (std::vector<std::string>{"32", "16"}));
  EXPECT_EQ(csv_column(top, "rank"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(csv_column(top, "mps_verdict"), (std::vector<std::string>{"falls back", "falls back"}));
  EXPECT_EQ(top.table->rows()[0][1], "`aten::b`");  // the Markdown shows what the CSV holds, formatted
}

TEST(Summary, ListsTheRequestedNativeOpsToClose) {
  const Model m = three_ops();
  const TargetsDemand d = demand({{"aten::a", 3}, {"aten::c", 9}});
  SummaryOptions o;
  o.demand = &d;
  const Report r = summary_report(m, o);
  const Section& now = section(r, "Requested, now native in torch 2.13.0");
  EXPECT_EQ(now.csv, "now_native.csv");
  EXPECT_EQ(csv_column(now, "op"), (std::vector<std::string>{"aten::c"}));
  EXPECT_EQ(csv_column(now, "votes"), (std::vector<std::string>{"9"}));
}

TEST(Summary, WithoutDemandVotesCountZeroAndNothingIsKnownToBeRequested) {
  const Model m = three_ops();
  const Report r = summary_report(m, SummaryOptions{});
  const Section& top = section(r, "Top pain");
  EXPECT_EQ(csv_column(top, "pain"), (std::vector<std::string>{"0", "0"}));
  EXPECT_EQ(csv_column(top, "votes"), (std::vector<std::string>{"", ""}));
  const Section& now = section(r, "Requested, now native");
  EXPECT_FALSE(now.table);
  EXPECT_TRUE(now.data->empty());
  EXPECT_NE(now.prose.find("no targets file was read"), std::string::npos);
}

}  // namespace
}  // namespace mpsfb::report
