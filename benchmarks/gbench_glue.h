// Google Benchmark around the op suite: the argv it parses (the minimum time that adaptive
// stopping needs), the reporters it writes with (a CSV that keeps every counter column), and
// the run's measurement settings. docs/measurement-model.md, "Google Benchmark's view".
#pragma once

#include "cli.h"
#include "op_fixture.h"
#include "sampling.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb {

// --benchmark_min_time as given on the command line (the last one) or in BENCHMARK_MIN_TIME:
// "0.5", "0.5s" (seconds) or, Google Benchmark 1.8+, "100x" (iterations).
struct MinTimeFlag {
  std::optional<double> seconds;
  std::optional<int64_t> iterations;
};
MinTimeFlag explicit_min_time(const std::vector<std::string>& args);

// --benchmark_repetitions as given: `given` is how ("--benchmark_repetitions=-1" or
// "BENCHMARK_REPETITIONS=0", for messages; empty: not given), `value` its integer when it is one.
struct RepetitionsFlag {
  std::string given;
  std::optional<long long> value;
};
RepetitionsFlag explicit_repetitions(const std::vector<std::string>& args);

// --benchmark_out as the user gave it (command line or BENCHMARK_OUT). Google Benchmark would
// truncate the file at start and leave it cut mid-object when the run is stopped, and it never
// says when a write fails; so it is handed /dev/null, and run_benchmarks writes the file whole
// at the end (regular_file.h write_file_whole): the previous file stays until then.
struct BenchmarkOut {
  std::string given;   // "--benchmark_out=run.json" or "BENCHMARK_OUT=run.json"; empty: none
  std::string path;
  std::string format;  // --benchmark_out_format: json (default), console or csv
};

// argv for benchmark::Initialize. Every case stops by its own rule (sampling.h) and reports
// the samples it took as its iterations; Google Benchmark would call it again while the
// reported time is under its minimum time (0.5 s by default), so for the op suite a minimum of
// 1 µs is passed unless the user gave one, and then theirs holds (sampling::Rule::min_timed_s).
//
// Visits: with `visits` > 1 and no --benchmark_repetitions of the user's, the op suite runs as
// --benchmark_repetitions=visits --benchmark_enable_random_interleaving=true (and shows only the
// aggregates), so every case is measured at several moments of the run, in a shuffled order,
// and its median and noise cover the machine's drift between them (docs/measurement-model.md,
// "Visits").
class BenchmarkArgv {
 public:
  BenchmarkArgv(int argc, char** argv, bool op_suite, int64_t visits = 1);
  int& argc() { return argc_; }
  char** argv() { return ptrs_.data(); }
  const MinTimeFlag& min_time() const { return min_time_; }
  const RepetitionsFlag& repetitions() const { return repetitions_; }  // the user's, not the injected
  const BenchmarkOut& out() const { return out_; }
  // Repetitions in effect: the user's --benchmark_repetitions, else the visits passed, else 1.
  int64_t visits() const { return visits_; }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> ptrs_;
  int argc_ = 0;
  MinTimeFlag min_time_;
  RepetitionsFlag repetitions_;
  BenchmarkOut out_;
  int64_t visits_ = 1;
};

// True when `flag` (--name) is on the command line, with or without a value.
bool mentions_flag(const std::vector<std::string>& args, const std::string& flag);

// The stopping rule from mps_benchmarks' flags and an explicit --benchmark_min_time; --max_time_s
// is a case's time in all, shared by its `visits`.
sampling::Rule sampling_rule(const CliOptions& o, const MinTimeFlag& min_time, int64_t visits);

// The JSON context of the measurement: the copy model (which, its latencies), the stopping
// rule, the host allocator. Beside suite.cpp's add_context.
void add_measurement_context(const RunContext& ctx, const std::string& host_allocator);

// benchmark::RunSpecifiedBenchmarks with CSV reporters (for --benchmark_format=csv and
// --benchmark_out_format=csv) that give rows without counters, the skipped and errored cases,
// every op counter, so that the header Google Benchmark takes from the first case has every
// column (1.7.1 aborts with "All counters must be present in each run" otherwise; 1.9.5 drops
// the columns). `args`: the command line, for the formats; `out`: where the file reporter's
// output goes, written whole once the run ends (refused before the run when it is an input).
size_t run_benchmarks(const std::vector<std::string>& args, const BenchmarkOut& out);

}  // namespace mpsfb
