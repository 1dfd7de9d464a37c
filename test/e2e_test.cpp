// mps_benchmarks end to end, as a user runs it: real process, real targets files, real JSON.
#include "run_binary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <torch/cuda.h>

namespace {

namespace fs = std::filesystem;
using mpsfb::testing::run_mps_benchmarks;

std::string data(const char* name) { return mpsfb::testing::data_path(name); }
fs::path temp_json(const char* name) { return mpsfb::testing::fresh_temp_path(std::string("mpsfb_e2e_") + name + ".json"); }
mpsfb::testing::Run run(const std::string& args) { return run_mps_benchmarks(args); }

const nlohmann::json* find(const nlohmann::json& benchmarks, const std::string& name) {
  for (const auto& b : benchmarks)
    if (b.at("name") == name) return &b;
  return nullptr;
}

TEST(EndToEnd, CpuRunWritesNamedCasesWithCounters) {
  const auto out = temp_json("cpu");
  const auto r = run("--device=cpu --targets=" + data("e2e.yaml") +
                     " --benchmark_min_time=0.001 --benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("no accelerator: measuring CPU baselines only"), std::string::npos) << r.output;
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);
  const auto& ctx = j.at("context");
  for (const char* key : {"torch_version", "device", "device_name", "os_version", "fallback_mode",
                          "PYTORCH_ENABLE_MPS_FALLBACK", "targets", "targets_sha1"})
    EXPECT_TRUE(ctx.contains(key)) << key;
  EXPECT_EQ(ctx.at("device"), "cpu");
  EXPECT_EQ(ctx.at("targets_sha1").get<std::string>().size(), 40u);
  const auto& b = j.at("benchmarks");
  ASSERT_EQ(b.size(), 4u) << b.dump(1);

  const auto* roll = find(b, "op:aten::roll/shape:8x16/dtype:f32/device:cpu/manual_time");
  ASSERT_TRUE(roll) << b.dump(1);
  EXPECT_GT(roll->at("cpu_us").get<double>(), 0);
  EXPECT_EQ(roll->at("fallback").get<double>(), 0);
  EXPECT_EQ(roll->at("bytes").get<double>(), 8 * 16 * 4 * 2);  // input + output, f32
  EXPECT_FALSE(roll->contains("dev_us"));                      // no device: not measured, not written
  EXPECT_EQ(roll->at("time_unit"), "us");

  const auto* up = find(b, "op:aten::upsample_bicubic2d/shape:1x2x8x8/dtype:f32/device:cpu/manual_time");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->at("bytes").get<double>(), (1 * 2 * 8 * 8 + 1 * 2 * 16 * 16) * 4);

  // A case the op rejects is a skipped row with torch's reason; the run goes on and exits 0.
  const auto* bad = find(b, "op:aten::upsample_bicubic2d/shape:16/dtype:f32/device:cpu/manual_time");
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->at("error_occurred").get<bool>());
  EXPECT_NE(bad->at("error_message").get<std::string>().find("NCHW"), std::string::npos);

  const auto* lcm = find(b, "op:aten::lcm/shape:4/dtype:i64/device:cpu/manual_time");
  ASSERT_TRUE(lcm);
  EXPECT_NE(lcm->at("error_message").get<std::string>().find("needs a fixture"), std::string::npos);
}

TEST(EndToEnd, FilterSelectsByKeyValueSegments) {
  const auto out = temp_json("filter");
  const auto r = run("--device=cpu --targets=" + data("e2e.yaml") +
                     " --benchmark_min_time=0.001 --benchmark_filter=op:aten::roll/ --benchmark_out_format=json "
                     "--benchmark_out=" +
                     out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  std::ifstream in(out);
  const auto b = nlohmann::json::parse(in).at("benchmarks");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].at("name"), "op:aten::roll/shape:8x16/dtype:f32/device:cpu/manual_time");
}

TEST(EndToEnd, BadTargetsStopBeforeAnyBenchmarkWithEveryProblem) {
  const auto out = temp_json("bad");
  const auto r = run("--device=cpu --targets=" + data("e2e-bad.yaml") + " --benchmark_out=" + out.string());
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("3 problem(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("e2e-bad.yaml:4:18: shape has a negative size -16"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("e2e-bad.yaml:5:19: unknown dtype 'float9'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("e2e-bad.yaml:6:5: unknown op 'aten::no_such_op'"), std::string::npos) << r.output;
  EXPECT_LT(r.output.find("e2e-bad.yaml:4:18"), r.output.find("e2e-bad.yaml:5:19")) << "problems in file order";
  EXPECT_FALSE(fs::exists(out)) << "no benchmark may run, no output may be written";
}

TEST(EndToEnd, FlagErrorsExitNonZero) {
  auto r = run("--device=cpu --frobnicate=1");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.output.find("unknown flag '--frobnicate=1'"), std::string::npos) << r.output;
  r = run("--device=gpu");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.output.find("--device=gpu: expected auto, mps, cuda or cpu"), std::string::npos) << r.output;
  r = run("--device=cpu --fallback=emulate");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.output.find("--fallback=emulate needs a device"), std::string::npos) << r.output;
  r = run("--device=cpu --targets=/nonexistent.yaml");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.output.find("/nonexistent.yaml: cannot open the targets file"), std::string::npos) << r.output;
  if (!torch::cuda::is_available()) {
    r = run("--device=cuda");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--device=cuda: CUDA is not available"), std::string::npos) << r.output;
  }
}

TEST(EndToEnd, AutoDeviceSaysWhichItPicked) {
  const auto r = run("--targets=" + data("e2e.yaml") + " --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("[auto: mps, then cuda, then cpu]"), std::string::npos) << r.output;
}

}  // namespace
