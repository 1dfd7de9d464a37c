// The model's choices: which row a case takes its numbers from, what a case's name is, which
// counters are undefined, and what a later file replaces.
#include "run_json.h"

#include "report/model.h"

#include <gtest/gtest.h>

namespace mpsfb::report {
namespace {

using testing::case_row;
using testing::model_of;

constexpr const char* kRoll = "op:aten::roll/shape:8x8/dtype:f32/device:mps";

TEST(Model, SplitsTheNameIntoSegmentsAndDropsGoogleBenchmarksSuffixes) {
  const Model m = model_of({}, {case_row(std::string(kRoll) + "/manual_time/repeats:3", {{"cpu_us", 1}})});
  ASSERT_EQ(m.cases.size(), 1u);
  const Case& c = m.cases.front();
  EXPECT_EQ(c.op, "aten::roll");
  EXPECT_EQ(c.shape, "8x8");
  EXPECT_EQ(c.dtype, "f32");
  EXPECT_EQ(c.device, "mps");
  EXPECT_EQ(c.name, kRoll);
}

TEST(Model, TakesTheMedianOfTheVisitsAndSumsTheirSamples) {
  std::vector<nlohmann::json> rows;
  for (const double t : {30.0, 10.0, 20.0}) rows.push_back(case_row(kRoll, {{"cpu_us", t}, {"samples", 5}}));
  nlohmann::json mean = case_row(kRoll, {{"cpu_us", 999}});
  mean["run_type"] = "aggregate";
  mean["aggregate_name"] = "median";
  mean["name"] = std::string(kRoll) + "_median";
  rows.push_back(mean);  // the visits' own rows win over the aggregate
  const Model m = model_of({}, rows);
  ASSERT_EQ(m.cases.size(), 1u);
  EXPECT_EQ(m.cases[0].counter("cpu_us"), 20.0);
  EXPECT_EQ(m.cases[0].counter("samples"), 15.0);
}

TEST(Model, WithoutIterationRowsTakesTheMedianAggregate) {
  std::vector<nlohmann::json> rows;
  for (const char* agg : {"mean", "median", "stddev"}) {
    nlohmann::json r = case_row(std::string(kRoll) + "_" + agg, {{"cpu_us", agg == std::string("median") ? 7.0 : 1.0}});
    r["run_name"] = kRoll;
    r["run_type"] = "aggregate";
    r["aggregate_name"] = agg;
    rows.push_back(r);
  }
  const Model m = model_of({}, rows);
  ASSERT_EQ(m.cases.size(), 1u);
  EXPECT_EQ(m.cases[0].status, Status::kOk);
  EXPECT_EQ(m.cases[0].counter("cpu_us"), 7.0);
}

TEST(Model, KeepsAnErroredCaseWithItsMessageAndLabel) {
  nlohmann::json r = case_row(kRoll, {}, "mps_verdict=falls back");
  r["error_occurred"] = true;
  r["error_message"] = "boom";
  const Model m = model_of({}, {r});
  ASSERT_EQ(m.cases.size(), 1u);
  EXPECT_EQ(m.cases[0].status, Status::kError);
  EXPECT_EQ(m.cases[0].error, "boom");
  EXPECT_EQ(m.cases[0].label_field("mps_verdict"), "falls back");
}

TEST(Model, DropsCountersTheContractCallsUndefinedWhenTheirBasisIsZero) {
  const Model m = model_of({}, {case_row(kRoll, {{"cpu_us", 10}, {"dev_us", 0}, {"penalty", 0}, {"overhead_us", 0}})});
  EXPECT_EQ(m.cases[0].counter("cpu_us"), 10.0);
  EXPECT_FALSE(m.cases[0].counter("penalty"));
  EXPECT_FALSE(m.cases[0].counter("overhead_us"));
}

TEST(Model, ALaterFileReplacesTheSameCaseAndKeepsItsPlace) {
  const report::Run a = parse_run(testing::run_text({}, {case_row(kRoll, {{"cpu_us", 1}}),
                                                 case_row("op:aten::cumsum/shape:8/dtype:f32", {{"cpu_us", 2}})}),
                                  "a.json");
  const report::Run b = parse_run(testing::run_text({}, {case_row(kRoll, {{"cpu_us", 3}})}), "b.json");
  const Model m = build_model({a, b});
  ASSERT_EQ(m.cases.size(), 2u);
  EXPECT_EQ(m.cases[0].op, "aten::roll");
  EXPECT_EQ(m.cases[0].counter("cpu_us"), 3.0);
  EXPECT_EQ(m.cases[0].file, "b.json");
  EXPECT_EQ(m.ops(), (std::vector<std::string>{"aten::cumsum", "aten::roll"}));
}

TEST(Model, CasesOfAnOpAreItsCasesInRunOrder) {
  const Model m = model_of({{"device", "mps"}}, {case_row("op:aten::roll/shape:1/dtype:f32", {}),
                                                 case_row("op:aten::cumsum/shape:1/dtype:f32", {}),
                                                 case_row("op:aten::roll/shape:2/dtype:f32", {})});
  const auto roll = m.cases_of("aten::roll");
  ASSERT_EQ(roll.size(), 2u);
  EXPECT_EQ(roll[0]->shape, "1");
  EXPECT_EQ(roll[1]->shape, "2");
  EXPECT_EQ(roll[0]->device, "mps");  // from the context when the name has no device
  EXPECT_TRUE(m.cases_of("aten::nope").empty());
}

}  // namespace
}  // namespace mpsfb::report
