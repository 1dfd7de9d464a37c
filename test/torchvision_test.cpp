// requires: torchvision rows: skipped with a clear reason without torchvision, run when its ops
// library is loaded (a stand-in library here; the real one where torchvision is installed).
#include "host.h"
#include "ops_libraries.h"
#include "run_binary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using mpsfb::testing::run_mps_benchmarks;

// Where mps_benchmarks looks for torchvision: the site-packages of the linked torch.
std::string site_packages() { return mpsfb::host::site_packages_of(mpsfb::torch_library_dir()); }
bool torchvision_installed() { return !site_packages().empty() && fs::exists(fs::path(site_packages()) / "torchvision"); }

struct Row {
  std::string error;
  bool has_cpu_us = false;
};

// Runs the torchvision targets on the CPU with MPSFB_TORCHVISION_LIB as given ("" unset) and
// returns the nms row and the run's output.
Row run_nms(const std::string& lib, std::string* output, const std::string& targets = "torchvision.yaml",
            const std::string& extra = "") {
  if (lib.empty())
    unsetenv("MPSFB_TORCHVISION_LIB");
  else
    setenv("MPSFB_TORCHVISION_LIB", lib.c_str(), 1);
  // ctest runs these tests in parallel, each in its own process: one output file per test.
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_torchvision_" + test + ".json");
  const auto r = run_mps_benchmarks("--device=cpu --benchmark_min_time=0.01 --targets=" +
                                    mpsfb::testing::data_path(targets.c_str()) + " " + extra +
                                    " --benchmark_out_format=json --benchmark_out=" + out.string());
  unsetenv("MPSFB_TORCHVISION_LIB");
  *output = r.output;
  EXPECT_EQ(r.rc, 0) << r.output;
  std::ifstream in(out);
  const auto json = nlohmann::json::parse(in, nullptr, false);
  Row row;
  if (json.is_discarded() || !json.contains("benchmarks") || json["benchmarks"].empty()) {
    ADD_FAILURE() << "no rows: " << r.output;
    return row;
  }
  const auto& b = json["benchmarks"][0];
  if (b.contains("error_message")) row.error = b["error_message"].get<std::string>();
  if (b.contains("skip_message")) row.error = b["skip_message"].get<std::string>();
  row.has_cpu_us = b.contains("cpu_us");
  return row;
}

TEST(Torchvision, RowsAreSkippedClearlyWithoutIt) {
  if (torchvision_installed()) GTEST_SKIP() << "torchvision is installed in " << site_packages();
  std::string output;
  const Row row = run_nms("", &output);
  EXPECT_EQ(row.error.rfind("unavailable: torchvision not found in " + site_packages(), 0), 0u) << row.error;
  EXPECT_NE(row.error.find("pip install torchvision"), std::string::npos) << row.error;
  EXPECT_FALSE(row.has_cpu_us);
}

TEST(Torchvision, AMissingLibraryIsNamed) {
  std::string output;
  const Row row = run_nms("/nonexistent/torchvision/_C.so", &output);
  EXPECT_EQ(row.error,
            "unavailable: torchvision not found: MPSFB_TORCHVISION_LIB=/nonexistent/torchvision/_C.so does not exist");
}

TEST(Torchvision, RowsRunWithItsOpsLibraryLoaded) {
  std::string output;
  const Row row = run_nms(MPSFB_FAKE_TORCHVISION, &output);
  EXPECT_TRUE(row.error.empty()) << row.error;
  EXPECT_TRUE(row.has_cpu_us) << output;
  EXPECT_NE(output.find("loaded torchvision's ops from " + std::string(MPSFB_FAKE_TORCHVISION)), std::string::npos)
      << output;
}

// The real library, where it is installed (the GPU machine: torchvision 0.26): the seed's
// torchvision rows run on the CPU, deform_conv2d and nms alike.
TEST(Torchvision, TheInstalledTorchvisionRunsTheSeedRows) {
  if (!torchvision_installed()) GTEST_SKIP() << "torchvision not found in " << site_packages();
  unsetenv("MPSFB_TORCHVISION_LIB");
  const auto out = mpsfb::testing::fresh_temp_path("mpsfb_torchvision_seed.json");
  const auto r = run_mps_benchmarks("--device=cpu --benchmark_min_time=0.01 --benchmark_filter=op:torchvision:: "
                                    "--targets=" + std::string(MPSFB_SOURCE_DIR) + "/ops/targets.seed.yaml "
                                    "--benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  std::ifstream in(out);
  const auto json = nlohmann::json::parse(in);
  ASSERT_FALSE(json["benchmarks"].empty()) << r.output;
  for (const auto& b : json["benchmarks"]) {
    EXPECT_FALSE(b.contains("error_message")) << b["name"] << ": " << b.value("error_message", "");
    EXPECT_TRUE(b.contains("cpu_us")) << b["name"];
  }
}

}  // namespace
