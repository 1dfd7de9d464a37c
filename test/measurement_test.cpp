// The measurement model's parts on known inputs: noise, adaptive stopping, the floor and the
// copy model file. docs/measurement-model.md.
#include "counters.h"
#include "device.h"
#include "sampling.h"
#include "stats.h"

#include "run_binary.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace mpsfb {
namespace {

std::vector<double> one_to(int n) {
  std::vector<double> v;
  for (int i = n; i >= 1; --i) v.push_back(i);  // any order: the statistics sort
  return v;
}

TEST(Noise, ConfidenceIntervalOfTheMedianFromOrderStatistics) {
  // 1..100: the 95% interval of the median is x(40)..x(61), the median 50.5.
  const auto ci = median_ci(one_to(100));
  EXPECT_EQ(ci.lo_rank, 40);
  EXPECT_EQ(ci.hi_rank, 61);
  EXPECT_DOUBLE_EQ(ci.median, 50.5);
  EXPECT_DOUBLE_EQ(counters::noise(one_to(100)), (61.0 - 40.0) / (2 * 50.5));
  // Up to ten samples the interval is the whole range.
  EXPECT_DOUBLE_EQ(counters::noise({10, 11, 9, 30, 10}), (30.0 - 9.0) / (2 * 10.0));
  const auto ten = median_ci(one_to(10));
  EXPECT_EQ(ten.lo_rank, 1);
  EXPECT_EQ(ten.hi_rank, 10);
}

TEST(Noise, ShrinksWithSamplesWhileTheSpreadDoesNot) {
  // The same two-valued spread (100 and 110, alternating): the median's interval narrows to a
  // point once the middle ranks are all one value; the IQR would stay 10% forever.
  std::vector<double> few, many;
  for (int i = 0; i < 6; ++i) few.push_back(i % 3 ? 100 : 110);
  for (int i = 0; i < 600; ++i) many.push_back(i % 3 ? 100 : 110);
  EXPECT_GT(counters::noise(few), 0.04);
  EXPECT_DOUBLE_EQ(counters::noise(many), 0.0);
}

TEST(Noise, EdgeCases) {
  EXPECT_DOUBLE_EQ(counters::noise({5}), 1.0);  // one sample: no spread to estimate
  EXPECT_DOUBLE_EQ(counters::noise({}), 1.0);
  EXPECT_DOUBLE_EQ(counters::noise({7, 7, 7, 7}), 0.0);
  EXPECT_THROW(median_ci({}), std::invalid_argument);
}

// A case whose samples come from `gen`, one per take, and whose clock advances `dt` s per sample.
struct FakeCase {
  explicit FakeCase(std::function<double(int)> g, double step_s = 1e-4) : gen(std::move(g)), dt(step_s) {}
  std::function<double(int)> gen;
  double dt;
  sampling::Series s;
  int taken = 0;
  sampling::Stop run(const sampling::Rule& r, int64_t at_least = 1) {
    return sampling::run(
        r, at_least, s, s.dev,
        [&] {
          s.cpu.push_back(gen(taken));
          s.dev.push_back(2 * gen(taken));
          ++taken;
        },
        [&] { return taken * dt; });
  }
};

TEST(AdaptiveStopping, StableSamplesStopAtMinSamples) {
  FakeCase c{[](int i) { return 100.0 + 0.01 * (i % 3); }};
  sampling::Rule r;  // defaults: target 2%, 10 .. 10000 samples, 0.5 s
  EXPECT_EQ(c.run(r), sampling::Stop::kStable);
  EXPECT_EQ(c.s.size(), r.min_samples);
  EXPECT_LE(sampling::worst_noise(c.s), r.noise_target);
}

TEST(AdaptiveStopping, NoisySamplesRunToMaxSamples) {
  // Two modes 10x apart, half the samples each: the median's interval spans both, forever.
  FakeCase c{[](int i) { return i % 2 ? 10.0 : 100.0; }, /*dt=*/0};
  sampling::Rule r;
  r.max_samples = 500;
  EXPECT_EQ(c.run(r), sampling::Stop::kMaxSamples);
  EXPECT_EQ(c.s.size(), 500);
  EXPECT_GT(sampling::worst_noise(c.s), r.noise_target);
}

TEST(AdaptiveStopping, NoisySamplesStopAtMaxTime) {
  FakeCase c{[](int i) { return i % 2 ? 10.0 : 100.0; }, /*dt=*/0.01};
  sampling::Rule r;  // 0.5 s: 50 samples of 10 ms
  EXPECT_EQ(c.run(r), sampling::Stop::kMaxTime);
  EXPECT_EQ(c.s.size(), 50);
}

TEST(AdaptiveStopping, SlowCasesStillTakeThreeSamples) {
  FakeCase c{[](int) { return 1e6; }, /*dt=*/2.0};  // each sample outlasts max_time_s
  sampling::Rule r;
  EXPECT_EQ(c.run(r), sampling::Stop::kMaxTime);
  EXPECT_EQ(c.s.size(), sampling::kHardMinSamples);
}

TEST(AdaptiveStopping, SlowCasesShareTheThreeSamplesAcrossVisits) {
  // Three in all: one per visit of three, two per visit of two.
  for (const auto& [visits, per_visit] : {std::pair<int64_t, int64_t>{3, 1}, {2, 2}, {4, 1}}) {
    FakeCase c{[](int) { return 1e6; }, /*dt=*/2.0};
    sampling::Rule r;
    r.visits = visits;
    EXPECT_EQ(c.run(r), sampling::Stop::kMaxTime);
    EXPECT_EQ(c.s.size(), per_visit) << visits << " visits";
  }
}

TEST(AdaptiveStopping, GoogleBenchmarksIterationCountAndMinTimeComeFirst) {
  sampling::Rule r;
  FakeCase asked{[](int) { return 100.0; }};
  EXPECT_EQ(asked.run(r, /*at_least=*/37), sampling::Stop::kStable);
  EXPECT_EQ(asked.s.size(), 37);  // never fewer than the iterations Google Benchmark asked for

  // --benchmark_min_time=0.01: samples x median(dev) must reach 10 ms (dev = 200 µs: 50 samples).
  sampling::Rule timed = r;
  timed.min_timed_s = 0.01;
  FakeCase c{[](int) { return 100.0; }};
  EXPECT_EQ(c.run(timed), sampling::Stop::kStable);
  EXPECT_GE(static_cast<double>(c.s.size()) * 200e-6, 0.01);
  EXPECT_LT(c.s.size(), 60);
}

TEST(AdaptiveStopping, FixedCountForLaterRepetitions) {
  sampling::Rule r;
  r.fixed = 23;
  FakeCase noisy{[](int i) { return i % 2 ? 10.0 : 100.0; }, /*dt=*/1.0};  // noise and time ignored
  EXPECT_EQ(noisy.run(r), sampling::Stop::kFixed);
  EXPECT_EQ(noisy.s.size(), 23);
  FakeCase more{[](int) { return 1.0; }};
  EXPECT_EQ(more.run(r, /*at_least=*/40), sampling::Stop::kFixed);
  EXPECT_EQ(more.s.size(), 40);
}

TEST(Floor, LatencyPerMovedTensorPlusBytesOverBandwidthPlusOneSync) {
  counters::CopyModel copy;
  copy.d2h_bytes_per_us = 500;   // 0.5 GB/s
  copy.h2d_bytes_per_us = 1000;  // 1 GB/s
  copy.d2h_latency_us = 7;
  copy.h2d_latency_us = 5;
  copy.sync_us = 2;
  // Three inputs to the CPU (50 kB in all), one output and one mutated argument back (20 kB).
  counters::Moves m{/*to_cpu=*/3, /*to_dev=*/2, /*to_cpu_bytes=*/50000, /*to_dev_bytes=*/20000};
  EXPECT_DOUBLE_EQ(counters::floor_us(m, copy), 3 * 7 + 50000.0 / 500 + 2 * 5 + 20000.0 / 1000 + 2);
  counters::CaseTimes t;
  t.cpu_us = 100;
  t.dev_us = 400;
  const auto d = counters::derive(t, &m, &copy);
  EXPECT_DOUBLE_EQ(*d.floor_us, 153);
  EXPECT_DOUBLE_EQ(*d.copy_efficiency, 153.0 / 300.0);
  // Nothing moved (the case did not fall back): no floor, no efficiency.
  const auto native = counters::derive(t, nullptr, &copy);
  EXPECT_FALSE(native.floor_us || native.copy_efficiency);
  EXPECT_DOUBLE_EQ(*native.penalty, 4.0);
}

// The cases a row can describe: CPU only; a device op that runs natively; one that falls back
// with a floor (overhead above it, and below 0); an emulated one with its native kernel timed.
std::vector<std::pair<std::string, std::map<std::string, std::optional<double>>>> case_value_scenarios() {
  counters::CopyModel copy;
  copy.d2h_bytes_per_us = copy.h2d_bytes_per_us = 1000;
  copy.sync_us = 2;
  const counters::Moves moves{2, 1, 4000, 2000};
  counters::CaseTimes cpu;
  cpu.cpu_us = 100;
  cpu.cpu_noise = 0.01;
  cpu.samples = 30;
  counters::CaseTimes dev = cpu;
  dev.dev_us = 300;
  dev.dev_noise = 0.02;
  counters::CaseTimes faster = dev;
  faster.dev_us = 50;  // overhead < 0: no copy efficiency
  counters::CaseTimes emulated = dev;
  emulated.native_us = 20;
  emulated.native_noise = 0.03;
  const auto values = [&](const counters::CaseTimes& t, const counters::Moves* m) {
    return counters::case_values(t, counters::derive(t, m, &copy), m, m != nullptr, 1000);
  };
  return {{"cpu", values(cpu, nullptr)},
          {"native", values(dev, nullptr)},
          {"falls back", values(dev, &moves)},
          {"falls back, faster", values(faster, &moves)},
          {"emulated", values(emulated, &moves)}};
}

TEST(Counters, CaseValuesAreTheContractsCounters) {
  // set_case writes the contract's rows from case_values: each row has a value, and no value is
  // left out of the rows.
  for (const auto& [scenario, values] : case_value_scenarios()) {
    std::vector<std::string> keys;
    for (const auto& [key, v] : values) keys.push_back(key);
    std::vector<std::string> rows = counters::case_counters();
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(keys, rows) << scenario;
  }
}

TEST(Counters, EveryCaseCounterHasAMeaningForZero) {
  // Checked against what the harness computes: a counter it leaves undefined (written as 0) must
  // name a basis that is itself undefined or 0 in that row, so the report can tell the 0 from a
  // measured one; and where a basis is undefined, the counters that follow it are too.
  const auto zero = [](const std::optional<double>& v) { return !v || *v == 0; };
  std::set<std::string> undefined_somewhere;
  for (const auto& [scenario, values] : case_value_scenarios()) {
    for (const auto& c : counters::case_rows()) {
      const auto& v = values.at(c.name);
      if (!v) {
        undefined_somewhere.insert(c.name);
        ASSERT_NE(c.basis, nullptr) << c.name << " is undefined in the " << scenario << " row but has no basis";
        EXPECT_TRUE(zero(values.at(c.basis))) << c.name << " (" << scenario << "): its basis " << c.basis
                                              << " is not 0, so its written 0 would read as measured";
      } else if (c.basis && !values.at(c.basis)) {
        ADD_FAILURE() << c.name << " (" << scenario << ") has a value while its basis " << c.basis
                      << " is undefined: the report would drop it";
      }
    }
  }
  // Each counter with a basis is seen undefined in one of the rows above (the scenarios cover
  // them), and a side's noise follows that side's time.
  for (const auto& c : counters::case_rows()) {
    if (c.basis && std::string(c.basis) != counters::kCpuUs) {
      EXPECT_TRUE(undefined_somewhere.count(c.name)) << c.name << " has a basis but is never undefined";
    }
    if (c.noise_of) {
      EXPECT_STREQ(c.basis, c.noise_of) << c.name;
    }
    const auto& all = counters::case_counters();
    if (c.basis) {
      EXPECT_NE(std::find(all.begin(), all.end(), c.basis), all.end()) << c.name;
    }
  }
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto p = mpsfb::testing::fresh_temp_path(name);
  std::ofstream(p) << text;
  return p.string();
}

const char* kGoodModel =
    "name: test machine\n"
    "h2d_GBps: 2\n"
    "d2h_GBps: 4\n"
    "h2d_latency_us: 10\n"
    "d2h_latency_us: 12.5\n"
    "sync_us: 1\n"
    "sources: [a paper, a PR]\n";

TEST(CopyModelFile, LoadsFiguresInGBpsAndMicroseconds) {
  const auto m = load_copy_model(write_temp("mpsfb_copy_good.yaml", kGoodModel));
  EXPECT_DOUBLE_EQ(m.h2d_bytes_per_us, 2000);
  EXPECT_DOUBLE_EQ(m.d2h_bytes_per_us, 4000);
  EXPECT_DOUBLE_EQ(m.h2d_latency_us, 10);
  EXPECT_DOUBLE_EQ(m.d2h_latency_us, 12.5);
  EXPECT_DOUBLE_EQ(m.sync_us, 1);
  EXPECT_EQ(m.name, "test machine");
  EXPECT_NE(m.source.find("a paper; a PR"), std::string::npos) << m.source;
}

TEST(CopyModelFile, ThePublishedAppleModelLoads) {
  const auto m = load_copy_model(std::string(MPSFB_SOURCE_DIR) + "/ops/copy_model.apple-m-series.yaml");
  EXPECT_TRUE(m.usable());
  EXPECT_GT(m.d2h_latency_us, 100);  // Apple's blocking blit: ~0.1 ms per moved tensor
  EXPECT_NE(m.source.find("#182749"), std::string::npos) << m.source;
}

// Bad files: the message names file:line:column and what was expected.
TEST(CopyModelFile, BadInputSaysWhereAndWhat) {
  struct Bad {
    const char* name;
    std::string text;
    std::string expect;  // after "<path>:"
  };
  const std::string good(kGoodModel);
  const std::vector<Bad> cases = {
      {"mpsfb_copy_number.yaml", "h2d_GBps: 2\nd2h_GBps: fast\n", "2:11: d2h_GBps: expected a positive number, got 'fast'"},
      {"mpsfb_copy_unknown.yaml", good + "h2d_latency: 3\n", "8:1: unknown key 'h2d_latency'"},
      {"mpsfb_copy_missing.yaml", "name: x\nh2d_GBps: 1\n", "1:1: missing d2h_GBps"},
      {"mpsfb_copy_malformed.yaml", "h2d_GBps: [1\n", "malformed YAML"},
      {"mpsfb_copy_list.yaml", "- 1\n- 2\n", "1:1: not a copy model"},
      {"mpsfb_copy_zero_bw.yaml", "h2d_GBps: 0\nd2h_GBps: 1\nh2d_latency_us: 1\nd2h_latency_us: 1\nsync_us: 0\n",
       "1:11: h2d_GBps: expected a positive number, got '0'"},
      {"mpsfb_copy_neg_lat.yaml", "h2d_GBps: 1\nd2h_GBps: 1\nh2d_latency_us: -1\nd2h_latency_us: 1\nsync_us: 0\n",
       "3:17: h2d_latency_us: expected a non-negative number, got '-1'"},
  };
  for (const auto& c : cases) {
    const auto path = write_temp(c.name, c.text);
    try {
      load_copy_model(path);
      ADD_FAILURE() << c.name << " loaded";
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
    }
  }
  EXPECT_THROW(load_copy_model("/no/such/copy_model.yaml"), std::runtime_error);
}

// Files that are not a copy model's text: each named with its reason, never a hang (a FIFO
// blocked for ever) nor yaml-cpp's or libstdc++'s words.
TEST(CopyModelFile, WhatIsNotAFileOfTextSaysWhy) {
  const auto dir = std::filesystem::temp_directory_path() / ("mpsfb_copy_odd_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto fifo = (dir / "fifo.yaml").string(), loop = (dir / "loop.yaml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  const std::pair<std::string, std::string> cases[] = {
      {fifo, ": the copy model (--copy-model=FILE) is not a regular file (a FIFO"},
      {dir.string(), ": the copy model (--copy-model=FILE) is a directory"},
      {loop, ": cannot open the copy model (--copy-model=FILE): Too many levels of symbolic links"},
      {write_temp("mpsfb_copy_empty.yaml", ""), ":1:1: the copy model is empty (expected: a mapping"},
      {write_temp("mpsfb_copy_mapkey.yaml", "{a: 1}: 2\nh2d_GBps: 1\n"), ":1:1: a key that is not a string"},
      {write_temp("mpsfb_copy_twice.yaml", std::string(kGoodModel) + "sync_us: 2\n"), ":8:1: key 'sync_us' given twice"},
  };
  for (const auto& [path, message] : cases) {
    try {
      load_copy_model(path);
      ADD_FAILURE() << path << " loaded";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path + message), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(::unlink(fifo.c_str()), 0);  // not by remove_all: see TargetsFile.FifoIsRefusedWithoutBlocking
  std::filesystem::remove_all(dir);
}

TEST(CopyModelFile, TheBinaryStopsWithExitCode2AndTheMessage) {
  const auto path = write_temp("mpsfb_copy_cli.yaml", "h2d_GBps: 1\nd2h_GBps: 1\nh2d_latency_us: 1\nd2h_latency_us: x\n");
  const auto r = mpsfb::testing::run_mps_benchmarks("--device=cpu --targets=" + mpsfb::testing::data_path("e2e.yaml") +
                                                    " --copy-model=" + path);
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":4:17: d2h_latency_us: expected a non-negative number, got 'x'"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("op:aten::roll"), std::string::npos) << "nothing runs: " << r.output;
}

}  // namespace
}  // namespace mpsfb
