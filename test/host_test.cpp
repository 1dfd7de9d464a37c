// The decisions host.h makes from the environment, argv and what the OS says: the macOS paths
// (re-exec, device choice, OS and chip names, libraries to load) tested on any machine.
#include "apple.h"
#include "device.h"
#include "host.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

namespace mpsfb::host {
namespace {

TEST(FallbackEnv, ReadLikeLibtorch) {
  EXPECT_EQ(fallback_env(nullptr), FallbackEnv::kUnset);
  EXPECT_EQ(fallback_env("1"), FallbackEnv::kEnabled);
  EXPECT_EQ(fallback_env(" 2"), FallbackEnv::kEnabled);
  EXPECT_EQ(fallback_env("1abc"), FallbackEnv::kEnabled);  // std::stoi reads the leading digits
  EXPECT_EQ(fallback_env("0"), FallbackEnv::kDisabled);
  EXPECT_EQ(fallback_env("00"), FallbackEnv::kDisabled);
  EXPECT_EQ(fallback_env("-0"), FallbackEnv::kDisabled);
  EXPECT_EQ(fallback_env("true"), FallbackEnv::kInvalid);
  EXPECT_EQ(fallback_env(""), FallbackEnv::kInvalid);
}

TEST(Reexec, OnlyWhenMpsWillRunAndTheVariableIsUnset) {
  EXPECT_TRUE(plan_reexec(nullptr, "auto", true).reexec);
  EXPECT_TRUE(plan_reexec(nullptr, "mps", true).reexec);
  EXPECT_NE(plan_reexec(nullptr, "mps", true).note.find("running again with it set to 1"), std::string::npos);
  // No MPS, or not asked for: nothing to do, nothing to say.
  for (const char* device : {"cpu", "cuda"}) {
    EXPECT_FALSE(plan_reexec(nullptr, device, true).reexec) << device;
    EXPECT_TRUE(plan_reexec(nullptr, device, true).note.empty()) << device;
  }
  EXPECT_FALSE(plan_reexec(nullptr, "auto", false).reexec);  // unusable MPS: auto goes on without it
  EXPECT_FALSE(plan_reexec(nullptr, "mps", false).reexec);   // --device=mps then stops with the reason
  EXPECT_FALSE(plan_reexec("1", "auto", true).reexec);
  EXPECT_TRUE(plan_reexec("1", "auto", true).note.empty());
}

TEST(Reexec, AnExplicitZeroIsKeptAndExplained) {
  const ReexecPlan p = plan_reexec("0", "mps", true);
  EXPECT_FALSE(p.reexec);
  EXPECT_NE(p.note.find("PYTORCH_ENABLE_MPS_FALLBACK=0: the CPU fallback is off"), std::string::npos) << p.note;
  EXPECT_NE(p.note.find(kNotImplementedSource), std::string::npos) << p.note;
  const ReexecPlan bad = plan_reexec("yes", "auto", true);
  EXPECT_FALSE(bad.reexec);
  EXPECT_NE(bad.note.find("'yes' is not an integer"), std::string::npos) << bad.note;
}

TEST(Reexec, ResolvesTheExecutableLikeAShell) {
  const std::set<std::string> files = {"/opt/mpsfb/bin/mps_benchmarks", "/home/me/build/mps_benchmarks"};
  const auto exists = [&](const std::string& p) { return files.count(p) > 0; };
  // What the OS says wins (macOS _NSGetExecutablePath, Linux /proc/self/exe).
  EXPECT_EQ(resolve_executable("/proc/self/exe", "mps_benchmarks", "/usr/bin", "/", exists), "/proc/self/exe");
  // Started through PATH: argv[0] has no '/', so execv(argv[0]) would fail; search PATH.
  EXPECT_EQ(resolve_executable("", "mps_benchmarks", "/usr/bin:/opt/mpsfb/bin", "/home/me", exists),
            "/opt/mpsfb/bin/mps_benchmarks");
  // A relative path is against the working directory; an empty PATH entry means it too.
  EXPECT_EQ(resolve_executable("", "./build/mps_benchmarks", "/usr/bin", "/home/me", exists),
            "/home/me/build/mps_benchmarks");
  EXPECT_EQ(resolve_executable("", "mps_benchmarks", "/usr/bin::", "/home/me/build", exists),
            "/home/me/build/mps_benchmarks");
  EXPECT_EQ(resolve_executable("", "mps_benchmarks", "/usr/bin", "/tmp", exists), "");
  EXPECT_EQ(resolve_executable("", "", "/usr/bin", "/tmp", exists), "");
}

TEST(Device, AutoPassesOverAnUnusableMps) {
  const std::string oom = "a 4-element test op failed: MPS backend out of memory";
  DeviceChoice c = choose_device("auto", true, oom, false, "2.13.0");
  EXPECT_EQ(c.device, "cpu");
  EXPECT_TRUE(c.error.empty());
  EXPECT_EQ(c.note, "MPS is present but unusable: " + oom + "; going on with cpu");
  EXPECT_EQ(choose_device("auto", true, oom, true, "2.13.0").device, "cuda");
  EXPECT_EQ(choose_device("auto", true, "", true, "2.13.0").device, "mps");
  EXPECT_EQ(choose_device("auto", false, "", true, "2.13.0").device, "cuda");
  EXPECT_EQ(choose_device("auto", false, "", false, "2.13.0").device, "cpu");
  EXPECT_TRUE(choose_device("auto", false, "", false, "2.13.0").note.empty());
}

TEST(Device, AnExplicitDeviceStopsWithTheReason) {
  const DeviceChoice c = choose_device("mps", true, "a 4-element test op failed: x", false, "2.13.0");
  EXPECT_TRUE(c.device.empty());
  EXPECT_EQ(c.error, "--device=mps: MPS is present but unusable: a 4-element test op failed: x");
  EXPECT_NE(choose_device("mps", false, "", true, "2.13.0").error.find("MPS is not available"), std::string::npos);
  EXPECT_NE(choose_device("cuda", false, "", false, "2.13.0").error.find("LibTorch 2.13.0 without CUDA"),
            std::string::npos);
  EXPECT_EQ(choose_device("cpu", true, "x", true, "2.13.0").device, "cpu");
  EXPECT_NE(choose_device("tpu", false, "", false, "2.13.0").error.find("unknown device"), std::string::npos);
}

TEST(Names, OsAndChip) {
  EXPECT_EQ(macos_version("15.1", "arm64"), "macOS 15.1 (arm64)");
  EXPECT_EQ(mps_device_name("Apple M2 Pro"), "Apple M2 Pro GPU (MPS)");
  EXPECT_EQ(mps_device_name(""), "Apple GPU GPU (MPS)");
  const std::string debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n";
  EXPECT_EQ(linux_version(debian, "Linux", "6.1.0-18-amd64", "x86_64"),
            "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64 (x86_64)");
  EXPECT_EQ(linux_version("PRETTY_NAME=Alpine\n", "Linux", "6.6", "aarch64"), "Alpine, kernel 6.6 (aarch64)");
  EXPECT_EQ(linux_version("", "Linux", "6.6", "aarch64"), "Linux, kernel 6.6 (aarch64)");
}

TEST(Names, AppleCallsAreStubsElsewhere) {
  // Checked where the answers are used: the run's context names the OS and the CPU from sysctl
  // on Apple, and elsewhere from the Linux sources, never from what an Apple call said (a stub
  // that answered, or a caller that took its "" for an answer, shows here as "macOS ...").
  const std::string os = os_version();
  const std::string cpu = device_name(c10::Device(c10::kCPU));
#if defined(__APPLE__)
  EXPECT_EQ(os.rfind("macOS " + apple::sysctl_string("kern.osproductversion") + " (", 0), 0u) << os;
  EXPECT_EQ(cpu, apple::sysctl_string("machdep.cpu.brand_string"));
  EXPECT_FALSE(apple::executable_path().empty());
#else
  EXPECT_EQ(os.find("macOS"), std::string::npos) << os;
  EXPECT_NE(os.find(", kernel "), std::string::npos) << os;  // linux_version's form
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      EXPECT_EQ(cpu, line.substr(line.find(':') + 2));
      break;
    }
  }
#endif
}

TEST(NotImplemented, TheErrorOfADisabledFallbackIsADetection) {
  const std::string msg =
      "The operator 'aten::_linalg_eigvals' is not currently implemented for the MPS device. If you want this op to "
      "be considered for addition please comment on https://github.com/pytorch/pytorch/issues/141287 ...";
  EXPECT_EQ(op_from_not_implemented(msg), "aten::_linalg_eigvals");
  EXPECT_EQ(op_from_not_implemented("The operator 'aten::cumsum.out' is not current implemented for the MPS device."),
            "aten::cumsum.out");  // 1.12's wording
  EXPECT_EQ(op_from_not_implemented("MPS backend out of memory"), "");
  const auto v = not_implemented_verdict(msg);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, verdict::kFallsBack);
  EXPECT_EQ(v->via, std::vector<std::string>{"aten::_linalg_eigvals"});
  EXPECT_EQ(v->source, "run time on MPS (NotImplementedError: PYTORCH_ENABLE_MPS_FALLBACK=0)");
  EXPECT_FALSE(not_implemented_verdict("shape mismatch"));
}

TEST(OpsLibraries, TorchvisionNextToTheLinkedTorch) {
  EXPECT_EQ(site_packages_of("/v/lib/python3.11/site-packages/torch/lib"), "/v/lib/python3.11/site-packages");
  EXPECT_EQ(site_packages_of("/opt/libtorch/lib"), "");
  const std::string site = "/v/lib/python3.12/site-packages";
  EXPECT_EQ(torchvision_library_candidates(site, {"ops", "image.so", "_C.cpython-312-darwin.so", "_C.so"}),
            (std::vector<std::string>{site + "/torchvision/_C.so", site + "/torchvision/_C.cpython-312-darwin.so"}));
  EXPECT_TRUE(torchvision_library_candidates(site, {"image.so", "__init__.py"}).empty());
}

TEST(OpsLibraries, ThePythonLibraryOfAVenv) {
  const std::string site = "/w/.venv/lib/python3.11/site-packages";
  const auto linux_venv = python_library_candidates(site, "home = /root/.pyenv/versions/3.11.7/bin\n", false);
  ASSERT_GE(linux_venv.size(), 3u);
  EXPECT_EQ(linux_venv[0], "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0");
  EXPECT_EQ(linux_venv[1], "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so");
  EXPECT_EQ(linux_venv.back(), "libpython3.11.so");
  const auto mac = python_library_candidates("/u/.venv/lib/python3.12/site-packages",
                                             "home = /opt/homebrew/opt/python@3.12/bin\n", true);
  EXPECT_NE(std::find(mac.begin(), mac.end(),
                      "/opt/homebrew/opt/python@3.12/Frameworks/Python.framework/Versions/3.12/Python"),
            mac.end());
  const auto framework = python_library_candidates(
      "/u/.venv/lib/python3.12/site-packages", "home = /Library/Frameworks/Python.framework/Versions/3.12/bin", true);
  EXPECT_EQ(framework[1], "/Library/Frameworks/Python.framework/Versions/3.12/Python");
  EXPECT_TRUE(python_library_candidates("/opt/libtorch/lib", "", false).empty());
}

}  // namespace
}  // namespace mpsfb::host
