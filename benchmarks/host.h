// What mps_benchmarks decides about the machine and its own start, as plain functions of their
// inputs (the environment, argv, what the OS reports): compiled and unit-tested on every OS
// (test/host_test.cpp), so the macOS paths are tested without a Mac. The few calls that exist
// only on Apple platforms are in apple.h; the callers (suite.cpp, device.cpp, ops_libraries.cpp)
// only gather the inputs.
#pragma once

#include "contract/verdict.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::host {

// --- PYTORCH_ENABLE_MPS_FALLBACK and the re-exec (reference: mps-fallback-facts.md §1) ---

// The variable as libtorch reads it when it loads: unset or an integer 0 -> the error
// fallback (NotImplementedError); another integer -> the CPU fallback. libtorch parses it with
// std::stoi, which rejects text that does not start with an integer (kInvalid).
enum class FallbackEnv { kUnset, kDisabled, kEnabled, kInvalid };
FallbackEnv fallback_env(const char* value);

struct ReexecPlan {
  bool reexec = false;  // run again with PYTORCH_ENABLE_MPS_FALLBACK=1
  std::string note;     // what to tell the user first (empty: nothing to say)
};
// `device`: the --device flag; `mps_usable`: MPS present and working (device.h mps_status()).
// Only a run that will use MPS cares: an unset variable is set (the run re-executes itself,
// since libtorch has read it already), an explicit 0 is respected and explained.
ReexecPlan plan_reexec(const char* env_value, const std::string& device, bool mps_usable);

// The file to execute to run this program again. `self_exe`: what the OS says this process is
// (_NSGetExecutablePath on macOS, /proc/self/exe on Linux), used when non-empty; else argv[0]
// as a shell resolves it: with a '/', against `cwd`; without, through `path_env` (empty entries
// mean the working directory). Empty when nothing executable is found.
std::string resolve_executable(const std::string& self_exe, const std::string& argv0, const std::string& path_env,
                               const std::string& cwd, const std::function<bool(const std::string&)>& is_executable);

// --- The device (device.cpp select_device) ---

struct DeviceChoice {
  std::string device;  // "mps", "cuda" or "cpu"; empty when `error` is set
  std::string note;    // for stderr: why a device was passed over
  std::string error;   // the run stops (exit 2) with this
};
// --device=auto: mps, then cuda, then cpu; an MPS that is present but unusable (`mps_problem`
// non-empty) is passed over with a note. --device=mps|cuda: that one or an error saying why.
DeviceChoice choose_device(const std::string& requested, bool mps_present, const std::string& mps_problem,
                           bool cuda_available, const std::string& torch_version);

// --- Names for the JSON context ---

// "macOS 15.1 (arm64)" from sysctl kern.osproductversion and hw.machine.
std::string macos_version(const std::string& product_version, const std::string& machine);
// "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64 (x86_64)" from /etc/os-release and uname.
std::string linux_version(const std::string& os_release, const std::string& sysname, const std::string& release,
                          const std::string& machine);
// "Apple M2 Pro GPU (MPS)" from sysctl machdep.cpu.brand_string ("Apple M2 Pro").
std::string mps_device_name(const std::string& cpu_brand);

// --- A disabled fallback, seen as an error (PYTORCH_ENABLE_MPS_FALLBACK=0) ---

inline const std::string kNotImplementedSource =
    std::string(verdict::kRunTimeSource) + " (NotImplementedError: PYTORCH_ENABLE_MPS_FALLBACK=0)";
// The op named by MPS's NotImplementedError ("The operator 'aten::lcm.out' is not currently
// implemented for the MPS device..."; 1.12's "not current implemented" too); empty otherwise.
std::string op_from_not_implemented(const std::string& message);
// That error as a detection: the op has no MPS kernel, so with the fallback on it falls back.
std::optional<verdicts::Verdict> not_implemented_verdict(const std::string& message);

// --- Other libraries' ops (requires: torchvision) ---

// ".../site-packages/torch/lib" -> ".../site-packages"; empty when the layout is not a wheel's.
std::string site_packages_of(const std::string& torch_lib_dir);
// torchvision's ops library among the names in site-packages/torchvision: "_C.so" (its wheels
// name it so on Linux and macOS), else a "_C.<abi tag>.so"; full paths, best first.
std::vector<std::string> torchvision_library_candidates(const std::string& site_packages,
                                                        const std::vector<std::string>& torchvision_dir_names);
// The Python library a wheel's libtorch_python needs loaded first (it leaves Python's symbols
// to the interpreter), for the Python of `site_packages` (".../lib/python3.11/site-packages"),
// a venv's pyvenv.cfg text (its "home = .../bin" is the base interpreter), on Apple or not.
// Paths to try in order, then bare names for the loader's own search.
std::vector<std::string> python_library_candidates(const std::string& site_packages, const std::string& pyvenv_cfg,
                                                   bool apple);

}  // namespace mpsfb::host
