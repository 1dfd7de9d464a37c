// Google Benchmark's own formats stay whole on real mps_benchmarks runs: the CSV keeps every
// counter column when rows have different counter sets (an errored row first), and compare.py
// prints its OVERALL_GEOMEAN row for our JSON (tools/gbench_ok_rows.py), without colour codes.
#include "contract/result.h"
#include "run_binary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mpsfb::testing::data_path;
using mpsfb::testing::run_mps_benchmarks;

const std::string kTargets = " --device=cpu --max_time_s=0.05 --targets=" + data_path("formats.yaml");

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      out.push_back(cell);
      cell.clear();
    } else {
      cell += ch;
    }
  }
  out.push_back(cell);
  return out;
}

// The header and the op rows of a CSV among other output lines.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
Csv read_csv(const std::string& text) {
  Csv csv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("name,", 0) == 0) csv.header = split_csv_line(line);
    if (line.rfind("\"op:", 0) == 0) csv.rows.push_back(split_csv_line(line));
  }
  return csv;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_whole(const Csv& csv, const std::string& output) {
  ASSERT_FALSE(csv.header.empty()) << output;
  // Every op counter is a column, although the first row (lcm, errored) carries none.
  for (const auto& key : mpsfb::counters::case_counters())
    EXPECT_NE(std::find(csv.header.begin(), csv.header.end(), key), csv.header.end()) << key << "\n" << output;
  ASSERT_EQ(csv.rows.size(), 3u) << output;
  EXPECT_NE(csv.rows[0][0].find("aten::lcm"), std::string::npos);
  // The rows that ran have a cell for every column, numbers all (no nan).
  for (size_t i = 1; i < csv.rows.size(); ++i) {
    ASSERT_EQ(csv.rows[i].size(), csv.header.size()) << csv.rows[i][0];
    for (const auto& key : mpsfb::counters::case_counters()) {
      const size_t col = std::find(csv.header.begin(), csv.header.end(), key) - csv.header.begin();
      const std::string& cell = csv.rows[i][col];
      EXPECT_FALSE(cell.empty()) << csv.rows[i][0] << " " << key;
      EXPECT_EQ(cell.find("nan"), std::string::npos) << csv.rows[i][0] << " " << key;
    }
  }
}

TEST(GbenchFormats, CsvOnTheConsoleKeepsEveryCounterColumnWithAnErroredFirstRow) {
  const auto r = run_mps_benchmarks(kTargets + " --benchmark_format=csv");
  ASSERT_EQ(r.rc, 0) << r.output;  // Google Benchmark 1.7.1 aborted here: "All counters must be present"
  expect_whole(read_csv(r.output), r.output);
}

TEST(GbenchFormats, CsvFileKeepsEveryCounterColumnWithAnErroredFirstRow) {
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_formats.csv");
  const auto r = run_mps_benchmarks(kTargets + " --benchmark_out_format=csv --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  expect_whole(read_csv(slurp(out)), slurp(out));
}

TEST(GbenchFormats, JsonRowsCarryEveryCounterWithZeroForUndefined) {
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_formats.json");
  const auto r = run_mps_benchmarks(kTargets + " --benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(slurp(out));
  for (const auto& b : j.at("benchmarks")) {
    if (b.value("error_occurred", false)) continue;
    for (const auto& key : mpsfb::counters::case_counters()) ASSERT_TRUE(b.contains(key)) << key;
    // A CPU run has no device: dev_us is 0, and so is everything based on it.
    EXPECT_EQ(b.at("dev_us").get<double>(), 0);
    EXPECT_EQ(b.at("penalty").get<double>(), 0);
    EXPECT_GT(b.at("cpu_us").get<double>(), 0);
    // real_time is the timed side's median (cpu_us here), per sample; iterations are the samples.
    EXPECT_DOUBLE_EQ(b.at("real_time").get<double>(), b.at("cpu_us").get<double>());
    EXPECT_EQ(b.at("iterations").get<double>(), b.at("samples").get<double>());
  }
}

TEST(GbenchFormats, RepetitionsKeepOneIterationCountAndAggregate) {
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_formats_reps.json");
  const auto r = run_mps_benchmarks(kTargets + " --benchmark_filter=roll --benchmark_repetitions=3 "
                                    "--benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;  // Google Benchmark checks that every repetition has one iteration count
  // Its cv aggregate of a counter that is 0 in every repetition (fallback, the undefined ones) is
  // 0/0, written as a bare NaN: not ours to change, read as null here.
  const auto j = nlohmann::json::parse(std::regex_replace(slurp(out), std::regex(R"(:\s*-?NaN\b)"), ": null"));
  std::vector<double> iterations;
  std::vector<std::string> aggregates;
  for (const auto& b : j.at("benchmarks")) {
    if (b.value("run_type", "") == "aggregate")
      aggregates.push_back(b.at("aggregate_name"));
    else
      iterations.push_back(b.at("iterations").get<double>());
  }
  ASSERT_EQ(iterations.size(), 3u);
  EXPECT_EQ(iterations[0], iterations[1]);
  EXPECT_EQ(iterations[0], iterations[2]);
  EXPECT_NE(std::find(aggregates.begin(), aggregates.end(), "median"), aggregates.end());
}

TEST(GbenchFormats, AnExplicitMinTimeIsHonoured) {
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_formats_min_time.json");
  const auto r = run_mps_benchmarks(kTargets + " --benchmark_filter=roll --benchmark_min_time=0.02 "
                                    "--benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto b = nlohmann::json::parse(slurp(out)).at("benchmarks").at(0);
  // Google Benchmark's contract: at least min_time of manual time (iterations x real_time).
  EXPECT_GE(b.at("iterations").get<double>() * b.at("real_time").get<double>() * 1e-6, 0.02) << b.dump();
}

bool compare_py_usable() {
  const std::string py = MPSFB_COMPARE_PY;
  return !py.empty() && py.find("NOTFOUND") == std::string::npos && fs::exists(py) &&
         std::system((std::string(MPSFB_PYTHON) + " -c 'import scipy, numpy' 2>/dev/null").c_str()) == 0;
}

mpsfb::testing::Run shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(GbenchFormats, ComparePyPrintsOverallGeomeanForOurRuns) {
  if (!compare_py_usable()) GTEST_SKIP() << "compare.py or scipy/numpy not available (" << MPSFB_COMPARE_PY << ")";
  std::vector<fs::path> runs, ok;
  for (const char* name : {"base", "contender"}) {
    runs.push_back(mpsfb::testing::fresh_temp_path(std::string("mpsfb_compare_") + name + ".json"));
    ok.push_back(mpsfb::testing::fresh_temp_path(std::string("mpsfb_compare_") + name + ".ok.json"));
    const auto r =
        run_mps_benchmarks(kTargets + " --benchmark_out_format=json --benchmark_out=" + runs.back().string());
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto f = shell(std::string(MPSFB_PYTHON) + " " + MPSFB_SOURCE_DIR + "/tools/gbench_ok_rows.py " +
                         runs.back().string() + " " + ok.back().string());
    ASSERT_EQ(f.rc, 0) << f.output;
    EXPECT_NE(f.output.find("aten::lcm"), std::string::npos) << "the errored row is named: " << f.output;
  }
  const std::string compare = std::string(MPSFB_PYTHON) + " " + MPSFB_COMPARE_PY + " --no-color benchmarks ";
  const auto raw = shell(compare + runs[0].string() + " " + runs[1].string());
  EXPECT_EQ(raw.output.find("OVERALL_GEOMEAN"), std::string::npos)
      << "the premise: the errored row's real_time 0 hides the geomean\n" << raw.output;
  const auto filtered = shell(compare + ok[0].string() + " " + ok[1].string());
  ASSERT_EQ(filtered.rc, 0) << filtered.output;
  EXPECT_NE(filtered.output.find("OVERALL_GEOMEAN"), std::string::npos) << filtered.output;
  EXPECT_NE(filtered.output.find("op:aten::roll"), std::string::npos) << filtered.output;
  EXPECT_EQ(filtered.output.find("\x1b["), std::string::npos) << "colour codes with --no-color";
}

}  // namespace
