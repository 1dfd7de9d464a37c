#include "gbench_glue.h"

#include "contract/result.h"
#include "regular_file.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace mpsfb {
namespace {

// How a flag was given: the last `--name=value` of the command line, else the environment
// variable Google Benchmark reads for it, as "BENCHMARK_NAME=value"; empty when neither.
std::string flag_given(const std::vector<std::string>& args, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  std::string given;
  for (const auto& a : args)
    if (a.rfind(prefix, 0) == 0) given = a;
  if (!given.empty()) return given;
  std::string env;
  for (char ch : name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const char* e = std::getenv(env.c_str());
  return e ? env + "=" + e : "";
}

// Its value (after the first '='), else empty.
std::string flag_value(const std::vector<std::string>& args, const std::string& name) {
  const std::string given = flag_given(args, name);
  return given.empty() ? "" : given.substr(given.find('=') + 1);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
// Google Benchmark's CSV reporter, given every op counter on every op row (0 where a row had
// none: skipped and errored rows, whose counter cells it leaves out anyway).
class WholeCsvReporter : public benchmark::CSVReporter {
 public:
  void ReportRuns(const std::vector<Run>& reports) override {
    std::vector<Run> rows = reports;
    for (auto& r : rows)
      if (name::is_op_case(r.benchmark_name()))
        for (const auto& key : counters::case_counters()) r.counters.emplace(key, benchmark::Counter(0.0));
    CSVReporter::ReportRuns(rows);
  }
};
#pragma GCC diagnostic pop

// Forwards to the reporter of the --benchmark_out format, which writes into a buffer of ours:
// Google Benchmark points this one's own stream at the file it opened (/dev/null).
class BufferedFileReporter : public benchmark::BenchmarkReporter {
 public:
  explicit BufferedFileReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner) : inner_(std::move(inner)) {
    inner_->SetOutputStream(&buffer_);
    inner_->SetErrorStream(&std::cerr);
  }
  bool ReportContext(const Context& c) override { return inner_->ReportContext(c); }
  void ReportRuns(const std::vector<Run>& runs) override { inner_->ReportRuns(runs); }
  void Finalize() override { inner_->Finalize(); }
  std::string text() const { return buffer_.str(); }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::ostringstream buffer_;
};

}  // namespace

MinTimeFlag explicit_min_time(const std::vector<std::string>& args) {
  MinTimeFlag f;
  std::string v = flag_value(args, "benchmark_min_time");
  if (v.empty()) return f;
  char* end = nullptr;
  if (v.back() == 'x') {
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (end == v.c_str() + v.size() - 1 && n > 0) f.iterations = n;
    return f;
  }
  if (v.back() == 's') v.pop_back();
  const double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() + v.size() && s > 0) f.seconds = s;
  return f;  // anything else is Google Benchmark's to reject
}

RepetitionsFlag explicit_repetitions(const std::vector<std::string>& args) {
  RepetitionsFlag f;
  f.given = flag_given(args, "benchmark_repetitions");
  if (f.given.empty()) return f;
  const std::string value = f.given.substr(f.given.find('=') + 1);
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(value.c_str(), &end, 10);
  if (!value.empty() && *end == '\0' && errno == 0) f.value = n;
  return f;
}

BenchmarkArgv::BenchmarkArgv(int argc, char** argv, bool op_suite, int64_t visits) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  min_time_ = explicit_min_time(args);
  storage_.assign(argv, argv + argc);
  repetitions_ = explicit_repetitions(args);
  out_.given = flag_given(args, "benchmark_out");
  out_.path = flag_value(args, "benchmark_out");
  out_.format = flag_value(args, "benchmark_out_format");
  if (!out_.given.empty()) storage_.push_back("--benchmark_out=/dev/null");  // see BenchmarkOut
  if (!repetitions_.given.empty()) {
    // Anything but a positive integer is check_benchmark_flags' or Google Benchmark's to reject.
    if (repetitions_.value && *repetitions_.value > 0) visits_ = *repetitions_.value;
  } else if (op_suite && visits > 1) {
    visits_ = visits;
    storage_.push_back("--benchmark_repetitions=" + std::to_string(visits));
    if (!mentions_flag(args, "--benchmark_enable_random_interleaving"))
      storage_.push_back("--benchmark_enable_random_interleaving=true");
    if (!mentions_flag(args, "--benchmark_display_aggregates_only"))
      storage_.push_back("--benchmark_display_aggregates_only=true");
  }
  const bool given = !flag_value(args, "benchmark_min_time").empty();
  if (op_suite && !given) {
#if defined(MPSFB_GBENCH_MIN_TIME_SUFFIX)
    storage_.push_back("--benchmark_min_time=0.000001s");  // 1.8+: seconds carry a suffix
#else
    storage_.push_back("--benchmark_min_time=0.000001");
#endif
  }
  for (auto& s : storage_) ptrs_.push_back(s.data());
  argc_ = static_cast<int>(ptrs_.size());
  ptrs_.push_back(nullptr);
}

bool mentions_flag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

sampling::Rule sampling_rule(const CliOptions& o, const MinTimeFlag& min_time, int64_t visits) {
  sampling::Rule r;
  r.noise_target = o.noise_target;
  r.min_samples = o.min_samples;
  r.max_samples = o.max_samples;
  r.max_time_s = o.max_time_s;
  r.visits = std::max<int64_t>(1, visits);
  r.cpu_sample = o.cpu_sample == sampling::to_string(sampling::CpuSample::kAfterDevice) ? sampling::CpuSample::kAfterDevice
                                                                                      : sampling::CpuSample::kSteady;
  if (min_time.seconds) r.min_timed_s = *min_time.seconds;
  if (min_time.iterations) r.fixed = *min_time.iterations;
  return r;
}

void add_measurement_context(const RunContext& ctx, const std::string& host_allocator) {
  auto num = [](double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  if (!ctx.device.is_cpu()) {
    benchmark::AddCustomContext(context::kCopyModel, ctx.copy.name);
    benchmark::AddCustomContext(context::kCopyModelSource, ctx.copy.source);
    benchmark::AddCustomContext(context::kH2dLatencyUs, num(ctx.copy.h2d_latency_us));
    benchmark::AddCustomContext(context::kD2hLatencyUs, num(ctx.copy.d2h_latency_us));
  }
  const auto& r = ctx.sampling;
  benchmark::AddCustomContext(context::kNoiseTarget, num(r.noise_target));
  benchmark::AddCustomContext(context::kMinSamples, std::to_string(r.min_samples));
  benchmark::AddCustomContext(context::kMaxSamples, std::to_string(r.max_samples));
  benchmark::AddCustomContext(context::kMaxTimeS, num(r.max_time_s));
  benchmark::AddCustomContext(context::kVisits, std::to_string(r.visits));
  benchmark::AddCustomContext(context::kHostAllocator, host_allocator);
  benchmark::AddCustomContext(context::kCpuSample, sampling::to_string(r.cpu_sample));
}

size_t run_benchmarks(const std::vector<std::string>& args, const BenchmarkOut& out) {
  std::unique_ptr<benchmark::BenchmarkReporter> csv_display;
  if (flag_value(args, "benchmark_format") == "csv") csv_display = std::make_unique<WholeCsvReporter>();
  std::unique_ptr<BufferedFileReporter> file;
  if (!out.path.empty()) {
    // Writing over an input would destroy it (the targets file, the model, the copy model).
    if (const std::string input = same_file_as_input(out.path); !input.empty())
      throw std::invalid_argument(out.given + ": is also an input (" + input + "); refusing to write over it");
    std::unique_ptr<benchmark::BenchmarkReporter> format;
    if (out.format == "csv")
      format = std::make_unique<WholeCsvReporter>();
    else if (out.format == "console")
      format = std::make_unique<benchmark::ConsoleReporter>(benchmark::ConsoleReporter::OO_None);
    else
      format = std::make_unique<benchmark::JSONReporter>();
    file = std::make_unique<BufferedFileReporter>(std::move(format));
  }
  // The default display reporter belongs to Google Benchmark (a static): not ours to delete.
  benchmark::BenchmarkReporter* display = csv_display ? csv_display.get() : benchmark::CreateDefaultDisplayReporter();
  const size_t n = benchmark::RunSpecifiedBenchmarks(display, file.get());
  if (file) write_file_whole(out.path, file->text());
  return n;
}

}  // namespace mpsfb
