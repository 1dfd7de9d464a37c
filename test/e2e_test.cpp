// mps_benchmarks end to end, as a user runs it: real process, real targets files, real JSON.
#include "run_binary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
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
  EXPECT_EQ(roll->at("dev_us").get<double>(), 0);              // no device: written as 0, undefined
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

// Flags Google Benchmark 1.7.1 takes and then fails on, or only prints about, and flags that
// mean nothing alone: each is a flag error naming the flag, exit 2, nothing run or written.
TEST(EndToEnd, FlagValuesThatCannotRunAreFlagErrors) {
  const auto out = temp_json("flags");
  const std::string base = "--device=cpu --targets=" + data("e2e.yaml") + " --benchmark_out=" + out.string() + " ";
  const std::pair<std::string, std::string> cases[] = {
      {"--benchmark_repetitions=-1", "--benchmark_repetitions=-1: expected a positive number of repetitions"},
      {"--benchmark_repetitions=0", "--benchmark_repetitions=0: expected a positive number of repetitions"},
      {"'--benchmark_filter=['", "--benchmark_filter=[: not a regular expression"},
      {"'--benchmark_filter=-op:(aten'", "--benchmark_filter=-op:(aten: not a regular expression"},
      {"--input=1x3x224x224:f32", "--input=1x3x224x224:f32 needs --workload=PATH.pt"},
      {"--cpu_sample=warm", "--cpu_sample=warm: expected steady or after-device"},
      {"--emulate=some", "--emulate=some: expected falls-back or all"},
      {"--memory_budget_mb=9223372036854775807",
       "--memory_budget_mb=9223372036854775807: expected an integer from 1 to 8796093022207 (MiB)"},
  };
  for (const auto& [flag, message] : cases) {
    const auto r = run(base + flag);
    EXPECT_EQ(r.rc, 2) << flag << "\n" << r.output;
    EXPECT_NE(r.output.find("mps_benchmarks: error: " + message), std::string::npos) << flag << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << flag << ": nothing may run";
  }
  // The largest budget is accepted, and a filter that is a regular expression still runs.
  const auto r = run(base + "--memory_budget_mb=8796093022207 --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001");
  EXPECT_EQ(r.rc, 0) << r.output;
}

// A --targets that is not a regular file: a clear message and exit 2 at once, never a hang.
TEST(EndToEnd, TargetsThatIsNotARegularFileIsRefused) {
  const auto dir = fs::temp_directory_path() / "mpsfb_e2e_targets_dir";
  fs::create_directories(dir);
  const auto fifo = fs::temp_directory_path() / "mpsfb_e2e_targets.fifo";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::pair<std::string, std::string> cases[] = {
      {fifo.string(), ": the targets file is not a regular file (a FIFO, socket or device"},
      {dir.string(), ": the targets file is a directory"},
      {"/dev/zero", ": the targets file is not a regular file"},
  };
  for (const auto& [path, message] : cases) {
    const auto r = run("--device=cpu --targets=" + path);
    EXPECT_EQ(r.rc, 2) << path << "\n" << r.output;
    EXPECT_NE(r.output.find(path + message), std::string::npos) << r.output;
  }
  fs::remove(fifo);
  fs::remove_all(dir);
}

// Hostile targets files end in the problem list, not in a crash: the long op name and the
// 12,000-dimension shape that overflowed std::regex's recursion, and 100,000-deep nesting.
TEST(EndToEnd, HostileTargetsFilesAreProblemsNotCrashes) {
  const auto path = fs::temp_directory_path() / "mpsfb_e2e_hostile.yaml";
  std::string shape = "1";
  for (int i = 0; i < 12000; ++i) shape += "x1";
  const std::pair<std::string, std::string> cases[] = {
      {"version: 1\nops:\n  - op: aten::" + std::string(50000, 'a') + "\n    shapes: [[4]]\n    dtypes: [f32]\n",
       ":3:9: op name of 50006 characters, longer than 256"},
      {"version: 1\nops:\n  - op: aten::roll\n    shapes: [" + shape + "]\n    dtypes: [f32]\n",
       ":4:14: shape '1x1x1x1x"},
      {"version: 1\nops:\n  - op: aten::roll\n    shapes: [99999999999999999999]\n    dtypes: [f32]\n",
       ":4:14: size '99999999999999999999' in shape '99999999999999999999' does not fit int64 (allowed: 0 to "
       "9223372036854775807)"},
      {"version: 1\nops: " + std::string(100000, '[') + std::string(100000, ']') + "\n",
       ":2:262: nesting deeper than 256 levels"},
  };
  for (const auto& [text, message] : cases) {
    std::ofstream(path, std::ios::trunc) << text;
    const auto r = run("--device=cpu --targets=" + path.string());
    EXPECT_EQ(r.rc, 2) << r.output.substr(0, 2000);
    EXPECT_NE(r.output.find(path.string() + message), std::string::npos) << r.output.substr(0, 2000);
    EXPECT_LT(r.output.size(), 2000u) << "long values are cut in messages";
  }
  fs::remove(path);
}

// Filters std::regex cannot match safely (Note [Filters Google Benchmark can match]): a
// 20,000-character filter and 30,000 nested parentheses crashed inside Google Benchmark; a
// repeated alternation hung on one case name. All are flag errors before anything runs.
TEST(EndToEnd, FiltersGoogleBenchmarkCannotMatchAreFlagErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {std::string(20000, 'a'), "longer than 1000 characters (20000)"},
      {std::string(30000, '(') + "a" + std::string(30000, ')'), "longer than 1000 characters (60001)"},
      {std::string(400, '(') + "a" + std::string(400, ')'), "groups nested deeper than 16 levels"},
      {"(.|.)*(.|.)*(.|.)*(.|.)*(.|.)*Z", "a repeated group that itself repeats or alternates"},
      {"a{1,100000}", "a repetition bound {1,100000} over 255"},
  };
  for (const auto& [filter, message] : cases) {
    const auto r = run("--device=cpu --targets=" + data("e2e.yaml") + " '--benchmark_filter=" + filter + "'");
    EXPECT_EQ(r.rc, 2) << r.output.substr(0, 2000);
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output.substr(0, 2000);
    EXPECT_LT(r.output.size(), 2000u) << "the filter is cut in the message";
  }
  // What names need still runs: groups, alternation, a few repetitions.
  const auto ok = run("--device=cpu --targets=" + data("e2e.yaml") +
                      " --benchmark_list_tests '--benchmark_filter=op:aten::(roll|cumsum)/.*dtype:f32'");
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_NE(ok.output.find("op:aten::roll/shape:8x16/dtype:f32"), std::string::npos) << ok.output;
}

// --benchmark_out: never an input, always a file that can be written, checked before the run;
// written whole at the end (Google Benchmark truncated it at start and wrote as it went).
TEST(EndToEnd, BenchmarkOutIsCheckedFirstAndNeverAnInput) {
  const auto dir = fs::temp_directory_path() / "mpsfb_e2e_out";
  fs::remove_all(dir);
  fs::create_directories(dir / "folder");
  const auto targets = dir / "targets.yaml";
  fs::copy_file(data("e2e.yaml"), targets);
  const auto size = fs::file_size(targets);
  const std::pair<std::string, std::string> cases[] = {
      {targets.string(), ": is also an input (" + targets.string() + ")"},
      {(dir / "." / "targets.yaml").string(), ": is also an input"},  // spelled another way
      {"/dev/full", ": exists and is not a regular file"},
      {(dir / "folder").string(), ": is a directory"},
      {(dir / "missing" / "run.json").string(), ": cannot be written: its folder " + (dir / "missing").string() +
                                                    " does not exist"},
      {"/proc/version", ": cannot write in its directory /proc"},
  };
  for (const auto& [out, message] : cases) {
    const auto r = run("--device=cpu --benchmark_min_time=0.001 --targets=" + targets.string() + " --benchmark_out=" + out);
    EXPECT_EQ(r.rc, 2) << out << "\n" << r.output;
    EXPECT_NE(r.output.find("--benchmark_out=" + out + message), std::string::npos) << r.output;
  }
  EXPECT_EQ(fs::file_size(targets), size) << "the targets file was written over";
  fs::remove_all(dir);
}

// A run stopped by SIGINT or SIGTERM leaves the previous --benchmark_out as it was, and no
// temporary: the file is written only once the run is done.
TEST(EndToEnd, StoppedRunLeavesThePreviousOutputWhole) {
  const auto dir = fs::temp_directory_path() / "mpsfb_e2e_signal";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto out = dir / "run.json";
  const auto log = dir / "stderr.txt";
  for (const int sig : {SIGTERM, SIGINT}) {
    std::ofstream(out, std::ios::trunc) << "{\"previous\": true}\n";
    const std::string cmd = "exec " + std::string(MPSFB_BINARY_DIR) + "/mps_benchmarks --device=cpu --targets=" +
                            data("e2e.yaml") + " --benchmark_min_time=5 --benchmark_out=" + out.string() + " >" +
                            log.string() + " 2>&1";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Until the first case runs (the output file is opened by then), then stop it.
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find(" cases from ") != std::string::npos) break;
      usleep(100000);
    }
    usleep(500000);
    ASSERT_EQ(kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << status;
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), "{\"previous\": true}\n") << "signal " << sig;
    for (const auto& e : fs::directory_iterator(dir))
      EXPECT_TRUE(e.path() == out || e.path() == log) << "left behind: " << e.path();
  }
  fs::remove_all(dir);
}

// Standard output that does not take what is written (a full disk) is an error, not exit 0.
TEST(EndToEnd, StandardOutputThatFailsIsAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  for (const std::string args : {"--list-verdicts", "--benchmark_list_tests"}) {
    const std::string cmd = std::string(MPSFB_BINARY_DIR) + "/mps_benchmarks --device=cpu --targets=" +
                            data("e2e.yaml") + " " + args + " 2>&1 >/dev/full";
    FILE* p = popen(cmd.c_str(), "r");
    std::string output;
    char buf[4096];
    while (p && fgets(buf, sizeof buf, p)) output += buf;
    const int status = p ? pclose(p) : -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << args << "\n" << output;
    EXPECT_NE(output.find("cannot write to standard output"), std::string::npos) << args << "\n" << output;
  }
#ifdef MPSFB_HAVE_REPORT
  const std::string run_json = std::string(MPSFB_SOURCE_DIR) + "/test/report/data/device_run.json";
  const std::string cmd = std::string(MPSFB_BINARY_DIR) + "/mpsfb_report --compare " + run_json + " " + run_json +
                          " 2>&1 >/dev/full";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) output += buf;
  const int status = p ? pclose(p) : -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << output;
  EXPECT_NE(output.find("mpsfb_report: error: cannot write to standard output"), std::string::npos) << output;
#endif
}

// mpsfb_report stopped by SIGINT while it writes (thousands of per-op CSVs): it finishes the
// set it began, leaves no temporary, and then ends by the signal; before, it left hidden .tmp
// files and new CSVs beside the old summary.
TEST(ReportEndToEnd, SigintWhileWritingLeavesNoTemporaryAndNoMix) {
#ifndef MPSFB_HAVE_REPORT
  GTEST_SKIP() << "mpsfb_report is not built";
#endif
  const auto dir = fs::temp_directory_path() / ("mpsfb_e2e_report_sigint_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "results");
  constexpr int kOps = 3000;
  {
    std::ofstream json(dir / "run.json");
    json << "{\"context\": {\"device\": \"cpu\"}, \"benchmarks\": [";
    for (int i = 0; i < kOps; ++i)
      json << (i ? "," : "") << "{\"name\": \"op:aten::op" << i << "/shape:4/dtype:f32/device:cpu/manual_time\", "
           << "\"run_type\": \"iteration\", \"iterations\": 1, \"real_time\": 1, \"cpu_time\": 1, \"time_unit\": \"us\", "
           << "\"cpu_us\": 1}";
    json << "]}\n";
  }
  std::ofstream(dir / "summary.md") << "previous\n";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string report = std::string(MPSFB_BINARY_DIR) + "/mpsfb_report";
    const std::string results = "--results-dir=" + (dir / "results").string();
    const std::string summary = "--summary=" + (dir / "summary.md").string();
    const std::string run_json = (dir / "run.json").string();
    freopen("/dev/null", "w", stderr);
    execl(report.c_str(), "mpsfb_report", results.c_str(), summary.c_str(), run_json.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The first file of the write phase, then the signal.
  bool writing = false;
  for (int i = 0; i < 200000 && !writing; ++i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "results", ec))
      if (e.path().filename().string()[0] == '.' || e.path().extension() == ".csv") writing = true;
    if (!writing) usleep(200);
  }
  ASSERT_TRUE(writing) << "the report never started writing";
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  size_t csvs = 0;
  for (const auto& e : fs::directory_iterator(dir / "results")) {
    EXPECT_EQ(e.path().extension(), ".csv") << "left behind: " << e.path();
    csvs += e.path().extension() == ".csv";
  }
  std::ifstream in(dir / "summary.md");
  std::string first;
  std::getline(in, first);
  if (first == "previous")
    EXPECT_EQ(csvs, 0u) << "new CSVs beside the old summary";
  else
    EXPECT_EQ(csvs, static_cast<size_t>(kOps)) << "a new summary beside part of the CSVs";
  fs::remove_all(dir);
}

TEST(EndToEnd, AutoDeviceSaysWhichItPicked) {
  const auto r = run("--targets=" + data("e2e.yaml") + " --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("[auto: mps, then cuda, then cpu]"), std::string::npos) << r.output;
}

// Reads a run's JSON: its context and its rows by name.
// Google Benchmark writes a counter that is NaN or infinite bare (its cv aggregate of a counter
// that is 0 in every visit is 0/0), which is not JSON: such values are read as null here.
nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  static const std::regex kBare(R"((:\s*)-?(nan|NaN|inf|Infinity)\b)");
  return nlohmann::json::parse(std::regex_replace(text.str(), kBare, "$1null"));
}

std::string label_of(const nlohmann::json& run, const std::string& name) {
  const auto* row = find(run.at("benchmarks"), name);
  return row ? row->value("label", std::string()) : "<no row " + name + ">";
}

TEST(EndToEnd, EveryCaseCarriesItsMpsVerdictAndItsSource) {
  const auto out = temp_json("verdict");
  const auto r = run("--device=cpu --targets=" + data("e2e.yaml") +
                     " --benchmark_min_time=0.001 --benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = read_json(out);
  EXPECT_NE(j.at("context").at("native_functions").get<std::string>().find("native_functions.yaml"), std::string::npos);
  EXPECT_EQ(j.at("context").at("verdict_torch"), j.at("context").at("torch_version"));
  const auto roll = label_of(j, "op:aten::roll/shape:8x16/dtype:f32/device:cpu/manual_time");
  EXPECT_NE(roll.find("mps_verdict=native"), std::string::npos) << roll;
  EXPECT_NE(roll.find("verdict_source=static: native_functions.yaml of torch "), std::string::npos) << roll;
  const std::string torch = j.at("context").at("torch_version");
  EXPECT_NE(roll.find("verdict_torch=" + torch + "; verdict_id=sha256:"), std::string::npos) << roll;
  EXPECT_EQ(j.at("context").at("verdict_id").get<std::string>().size(), 7u + 64u);
  EXPECT_EQ(j.at("context").at("verdict_source"), "static: native_functions.yaml of torch " + torch);
  // A case the op rejects still says its verdict.
  const auto bad = label_of(j, "op:aten::upsample_bicubic2d/shape:16/dtype:f32/device:cpu/manual_time");
  EXPECT_NE(bad.find("mps_verdict=native"), std::string::npos) << bad;
}

// W6 of issue 20: a verdict source the user named that cannot be used is a flag error.
TEST(EndToEnd, AnExplicitVerdictSourceThatCannotBeUsedIsAFlagError) {
  const fs::path dir = mpsfb::testing::fresh_temp_path("mpsfb_e2e_bad_sources");
  fs::create_directories(dir / "a_directory");
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--native-functions=/nonexistent/native_functions.yaml", "/nonexistent/native_functions.yaml: no such file"},
      {"--native-functions=" + (dir / "a_directory").string(), "not a regular file"},
      {"--native-functions=" + (dir / "fifo").string(), "not a regular file"},
      {"--native-functions=" + data("e2e.yaml"), "not a native_functions.yaml"},
      {"--torch-source=/nonexistent", "--torch-source=/nonexistent: no such directory"},
      {"--verdict-torch=../2.15", "expected a torch release such as 2.15.0, or latest"},
      {"--verdict-torch=2.15.0 --torch-source=/x", "the verdicts come from one source"}};
  for (const auto& [flag, why] : cases) {
    const auto out = temp_json("bad_source");
    const auto r = run("--device=cpu " + flag + " --targets=" + data("e2e.yaml") +
                       " --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001 --benchmark_out=" + out.string());
    EXPECT_EQ(r.rc, 2) << flag << "\n" << r.output;
    EXPECT_NE(r.output.find(why), std::string::npos) << flag << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << flag;
    EXPECT_EQ(run("--device=cpu --list-verdicts " + flag + " --targets=" + data("e2e.yaml")).rc, 2) << flag;
  }
  fs::remove_all(dir);
}

// --verdict-torch from the cache (an entry as tools/fetch_torch_files.py writes it): every case
// and the context name that torch and its yaml; a release that cannot be fetched (pip finds
// nothing on an empty local index) is judged by the linked torch, saying so, and the run goes on.
TEST(EndToEnd, VerdictTorchJudgesEveryCaseAndFallsBackToTheLinkedTorch) {
  const fs::path cache = mpsfb::testing::fresh_temp_path("mpsfb_e2e_cache");
  fs::remove_all(cache);
  const fs::path entry = cache / "torch" / "2.99.0";
  fs::create_directories(entry);
  const std::string yaml = "- func: roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor\n"
                           "  dispatch:\n    CPU, CUDA: roll\n";
  std::ofstream(entry / "native_functions.yaml") << yaml;
  setenv("MPSFB_CACHE_DIR", cache.c_str(), 1);
  setenv("PIP_CONFIG_FILE", "/dev/null", 1);  // pip sees an empty local index: no network
  setenv("PIP_NO_INDEX", "1", 1);
  setenv("PIP_FIND_LINKS", cache.c_str(), 1);
  auto wheel_json = [&](const std::string& hex) {
    std::ofstream(entry / "wheel.json") << "{\"version\": \"2.99.0\", \"wheel\": \"torch-2.99.0-cp312-cp312-macosx_14_0_arm64.whl\", "
                                           "\"sha256\": \"" << std::string(64, 'b') << "\", \"files\": "
                                           "{\"native_functions.yaml\": \"" << hex << "\"}}\n";
  };
  // The entry's sha256 from the binary itself: list once with a wrong one (corrupt, refetch fails,
  // linked torch), then read the digest the --native-functions source reports for the same file.
  const auto nf = run("--device=cpu --list-verdicts --native-functions=" + (entry / "native_functions.yaml").string() +
                      " --targets=" + data("e2e.yaml"));
  ASSERT_EQ(nf.rc, 0) << nf.output;
  const auto nj = nlohmann::json::parse(nf.output.substr(nf.output.find('{')));
  const std::string id = nj.at("verdict_id");
  ASSERT_EQ(id.rfind("sha256:", 0), 0u) << id;
  wheel_json(id.substr(7));

  const auto out = temp_json("verdict_torch");
  const auto r = run("--device=cpu --verdict-torch=2.99.0 --targets=" + data("e2e.yaml") +
                     " --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001 --benchmark_out_format=json "
                     "--benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = read_json(out);
  EXPECT_EQ(j.at("context").at("verdict_torch"), "2.99.0");
  EXPECT_EQ(j.at("context").at("verdict_id"), id);
  EXPECT_EQ(j.at("context").at("native_functions"), (entry / "native_functions.yaml").string());
  const std::string source = "static: native_functions.yaml of torch 2.99.0 (wheel "
                             "torch-2.99.0-cp312-cp312-macosx_14_0_arm64.whl sha256 bbbbbbbbbbbb)";
  EXPECT_EQ(j.at("context").at("verdict_source"), source);
  const auto roll = label_of(j, "op:aten::roll/shape:8x16/dtype:f32/device:cpu/manual_time");
  EXPECT_NE(roll.find("mps_verdict=falls back; mps_via=aten::roll; verdict_source=" + source +
                      "; verdict_torch=2.99.0; verdict_id=" + id),
            std::string::npos)
      << roll;

  // Emulation follows the chosen verdict: roll, native in the linked torch, falls back in 2.99.0.
  if (torch::cuda::is_available()) {
    const auto cuda_out = temp_json("verdict_torch_cuda");
    const auto c = run("--device=cuda --fallback=emulate --verdict-torch=2.99.0 --targets=" + data("e2e.yaml") +
                       " --benchmark_filter=op:aten::roll/ --benchmark_min_time=0.001 --benchmark_out_format=json "
                       "--benchmark_out=" + cuda_out.string());
    ASSERT_EQ(c.rc, 0) << c.output;
    const auto* row = find(read_json(cuda_out).at("benchmarks"), "op:aten::roll/shape:8x16/dtype:f32/device:cuda/manual_time");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->at("fallback").get<double>(), 1);
    EXPECT_NE(row->at("label").get<std::string>().find("emulated_ops=aten::roll"), std::string::npos) << row->dump(1);
  }

  wheel_json(std::string(64, '0'));  // corrupt: the fetcher runs pip, which finds nothing
  const auto fb = run("--device=cpu --list-verdicts --verdict-torch=2.99.0 --targets=" + data("e2e.yaml"));
  EXPECT_EQ(fb.rc, 0) << fb.output;
  EXPECT_NE(fb.output.find("corrupt cache entry"), std::string::npos) << fb.output;
  EXPECT_NE(fb.output.find("mps_benchmarks: --verdict-torch=2.99.0: pip download torch==2.99.0 failed (exit 1): "),
            std::string::npos)
      << fb.output;
  EXPECT_NE(fb.output.find("; judging with the linked torch "), std::string::npos) << fb.output;
  const auto fj = nlohmann::json::parse(fb.output.substr(fb.output.find("\n{") + 1));
  EXPECT_NE(fj.at("torch_version"), "2.99.0");
  EXPECT_EQ(fj.at("ops").at(0).at("mps_verdict"), "native");  // roll in the linked torch
  for (const char* v : {"MPSFB_CACHE_DIR", "PIP_CONFIG_FILE", "PIP_NO_INDEX", "PIP_FIND_LINKS"}) unsetenv(v);
  fs::remove_all(cache);
}

TEST(EndToEnd, ListVerdictsJudgesCompositesByTheirLeaves) {
  const auto r = run("--device=cpu --list-verdicts --targets=" + data("composite.yaml"));
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  ASSERT_EQ(j.at("ops").size(), 2u) << j.dump(1);
  const auto& svdvals = j.at("ops").at(0);
  EXPECT_EQ(svdvals.at("op"), "aten::linalg_svdvals");
  EXPECT_EQ(svdvals.at("mps_verdict"), "falls back");
  EXPECT_EQ(svdvals.at("text"), "falls back via aten::_linalg_svd");
  EXPECT_EQ(j.at("ops").at(1).at("mps_verdict"), "native");

  const auto all = run("--device=cpu --emulate=all --targets=" + data("composite.yaml"));
  EXPECT_EQ(all.rc, 2);
  EXPECT_NE(all.output.find("--emulate=all needs --fallback=emulate"), std::string::npos) << all.output;
  EXPECT_EQ(run("--emulate=some").rc, 2);
}

// A YAML-only composite op is emulated at the leaf that lacks an MPS kernel; a native one runs
// natively unless --emulate=all asks what native support saves.
TEST(EndToEnd, CudaEmulatesCompositesAtTheirFallingLeaf) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs CUDA";
  for (const std::string mode : {"falls-back", "all"}) {
    const auto out = temp_json(("composite_" + mode).c_str());
    const auto r = run("--device=cuda --fallback=emulate --emulate=" + mode + " --targets=" + data("composite.yaml") +
                       " --benchmark_min_time=0.001 --benchmark_out_format=json --benchmark_out=" + out.string());
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto j = read_json(out);
    EXPECT_EQ(j.at("context").at("emulate"), mode);
    const auto& b = j.at("benchmarks");
    const auto* svd = find(b, "op:aten::linalg_svdvals/shape:16x16/dtype:f32/device:cuda/manual_time");
    ASSERT_TRUE(svd) << b.dump(1);
    ASSERT_FALSE(svd->value("error_occurred", false)) << svd->dump(1);
    EXPECT_EQ(svd->at("fallback").get<double>(), 1);
    EXPECT_GT(svd->at("native_us").get<double>(), 0);
    // The floor counts what the fallback of _linalg_svd moves: its input in, its outputs back.
    EXPECT_GE(svd->at("moved_to_cpu").get<double>(), 1);
    EXPECT_GE(svd->at("moved_to_dev").get<double>(), 1);
    EXPECT_GT(svd->at("floor_us").get<double>(), 0);
    const auto svd_label = svd->at("label").get<std::string>();
    EXPECT_NE(svd_label.find("emulated_ops=aten::_linalg_svd"), std::string::npos) << svd_label;
    EXPECT_NE(svd_label.find("fallback_ops=aten::_linalg_svd"), std::string::npos) << svd_label;
    const auto* lse = find(b, "op:aten::logcumsumexp/shape:64x64/dtype:f32/device:cuda/manual_time");
    ASSERT_TRUE(lse) << b.dump(1);
    ASSERT_FALSE(lse->value("error_occurred", false)) << lse->dump(1);
    const auto lse_label = lse->at("label").get<std::string>();
    EXPECT_NE(lse_label.find("mps_verdict=native"), std::string::npos) << lse_label;
    if (mode == "all") {
      EXPECT_EQ(lse->at("fallback").get<double>(), 1);
      EXPECT_NE(lse_label.find("emulated_ops=aten::logcumsumexp;"), std::string::npos) << lse_label;  // the op whole
    } else {
      EXPECT_EQ(lse->at("fallback").get<double>(), 0);  // native on MPS: measured natively
      EXPECT_EQ(lse->at("native_us").get<double>(), 0);  // not timed: written as 0, undefined
      EXPECT_EQ(lse->at("floor_us").get<double>(), 0);   // nothing moved
      EXPECT_EQ(lse_label.find("emulated_ops="), std::string::npos) << lse_label;
    }
  }
}

TEST(EndToEnd, CudaRefusesToEmulateTheFallbacksOwnCopies) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs CUDA";
  const auto out = temp_json("machinery");
  const auto r = run("--device=cuda --fallback=emulate --emulate=all --targets=" + data("emulate_machinery.yaml") +
                     " --benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = read_json(out);
  const auto* row = find(j.at("benchmarks"), "op:aten::roll/shape:8x16/dtype:f32/device:cuda/manual_time");
  ASSERT_TRUE(row) << j.dump(1);
  EXPECT_TRUE(row->value("error_occurred", false));
  EXPECT_NE(row->value("error_message", std::string()).find("not emulatable: aten::copy_ is what "
                                                            "at::native::cpu_fallback moves tensors with"),
            std::string::npos)
      << row->dump(1);
}

}  // namespace
