// libFuzzer harness: the MPS profiler log reader (tools/report/mps_log.cpp) on any text, then
// its summary and the report built from it (nothing written: the OutputSet is not committed).
//
// A finding is a crash, a sanitizer report, a hang, an exception from the reader other than
// std::runtime_error ("path:line: what"), or any exception after it.
#include "mps_log.h"
#include "mps_log_report.h"
#include "output.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mpsfb::report;
  const std::string text(reinterpret_cast<const char*>(data), size);
  mps_log::Log log;
  try {
    log = mps_log::parse(text, "fuzz.log");
  } catch (const std::runtime_error&) {
    return 0;
  }
  (void)mps_log::summarize(log);
  OutputSet out;
  LogReportOptions options;
  options.wall_s = 1.0;
  (void)add_log_report(out, log, options);
  return 0;
}
