#include "host.h"

#include "mps_messages.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace mpsfb::host {

namespace fs = std::filesystem;

FallbackEnv fallback_env(const char* value) {
  if (!value) return FallbackEnv::kUnset;
  // std::stoi: leading white space, a sign, digits; the rest is ignored.
  const char* p = value;
  while (*p && std::isspace(static_cast<unsigned char>(*p))) ++p;
  const char* digits = p + (*p == '+' || *p == '-' ? 1 : 0);
  if (!std::isdigit(static_cast<unsigned char>(*digits))) return FallbackEnv::kInvalid;
  return std::strtol(p, nullptr, 10) == 0 ? FallbackEnv::kDisabled : FallbackEnv::kEnabled;
}

ReexecPlan plan_reexec(const char* env_value, const std::string& device, bool mps_usable) {
  ReexecPlan plan;
  const bool uses_mps = (device == "mps" || device == "auto") && mps_usable;
  if (!uses_mps) return plan;
  switch (fallback_env(env_value)) {
    case FallbackEnv::kUnset:
      plan.reexec = true;
      plan.note = "PYTORCH_ENABLE_MPS_FALLBACK was unset; running again with it set to 1 (libtorch reads it when it "
                  "loads)";
      break;
    case FallbackEnv::kDisabled:
      plan.note = std::string("PYTORCH_ENABLE_MPS_FALLBACK=") + env_value +
                  ": the CPU fallback is off, so an op without an MPS kernel raises NotImplementedError instead of "
                  "falling back. Each such case is reported as falling back (verdict source: " +
                  kNotImplementedSource + ") and is not timed; unset the variable to measure them";
      break;
    case FallbackEnv::kInvalid:
      plan.note = std::string("PYTORCH_ENABLE_MPS_FALLBACK='") + env_value +
                  "' is not an integer; libtorch expects 1 (fall back) or 0 (raise). Cases are detected as they "
                  "come: a fallback, or a NotImplementedError";
      break;
    case FallbackEnv::kEnabled:
      break;
  }
  return plan;
}

std::string resolve_executable(const std::string& self_exe, const std::string& argv0, const std::string& path_env,
                               const std::string& cwd, const std::function<bool(const std::string&)>& is_executable) {
  if (!self_exe.empty()) return self_exe;
  if (argv0.empty()) return {};
  if (argv0.find('/') != std::string::npos) {
    const std::string p = argv0[0] == '/' ? argv0 : (fs::path(cwd) / argv0).lexically_normal().string();
    return is_executable(p) ? p : std::string();
  }
  std::stringstream dirs(path_env);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) dir = cwd;  // an empty PATH entry is the working directory
    const std::string p = (fs::path(dir) / argv0).string();
    if (is_executable(p)) return p[0] == '/' ? p : (fs::path(cwd) / p).lexically_normal().string();
  }
  return {};
}

DeviceChoice choose_device(const std::string& requested, bool mps_present, const std::string& mps_problem,
                           bool cuda_available, const std::string& torch_version) {
  DeviceChoice c;
  const bool mps_usable = mps_present && mps_problem.empty();
  if (requested == "auto") {
    if (mps_present && !mps_usable)
      c.note = "MPS is present but unusable: " + mps_problem + "; going on with " + (cuda_available ? "cuda" : "cpu");
    c.device = mps_usable ? "mps" : cuda_available ? "cuda" : "cpu";
  } else if (requested == "mps") {
    if (!mps_present)
      c.error = "--device=mps: MPS is not available in this build or on this machine (LibTorch " + torch_version +
                "; MPS needs an Apple silicon Mac and a torch built with it)";
    else if (!mps_usable)
      c.error = "--device=mps: MPS is present but unusable: " + mps_problem;
    else
      c.device = "mps";
  } else if (requested == "cuda") {
    if (!cuda_available)
      c.error = "--device=cuda: CUDA is not available (LibTorch " + torch_version + " without CUDA, or no GPU)";
    else
      c.device = "cuda";
  } else if (requested == "cpu") {
    c.device = "cpu";
  } else {
    c.error = "--device=" + requested + ": unknown device (expected: auto, mps, cuda or cpu)";
  }
  return c;
}

std::string macos_version(const std::string& product_version, const std::string& machine) {
  return "macOS " + (product_version.empty() ? std::string("(unknown version)") : product_version) + " (" +
         (machine.empty() ? std::string("?") : machine) + ")";
}

std::string linux_version(const std::string& os_release, const std::string& sysname, const std::string& release,
                          const std::string& machine) {
  std::string pretty;
  std::stringstream in(os_release);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    pretty = line.substr(12);
    if (pretty.size() >= 2 && (pretty.front() == '"' || pretty.front() == '\'') && pretty.back() == pretty.front())
      pretty = pretty.substr(1, pretty.size() - 2);
  }
  return (pretty.empty() ? sysname : pretty) + ", kernel " + release + " (" + machine + ")";
}

std::string mps_device_name(const std::string& cpu_brand) {
  return (cpu_brand.empty() ? std::string("Apple GPU") : cpu_brand) + " GPU (MPS)";
}

std::string op_from_not_implemented(const std::string& message) { return op_in_not_implemented(message); }

std::optional<verdicts::Verdict> not_implemented_verdict(const std::string& message) {
  const std::string op = op_from_not_implemented(message);
  if (op.empty()) return std::nullopt;
  verdicts::Verdict v;
  v.verdict = verdict::kFallsBack;
  v.via = {op};
  v.source = kNotImplementedSource;
  return v;
}

std::string site_packages_of(const std::string& torch_lib_dir) {
  const fs::path lib(torch_lib_dir);
  if (lib.filename() != "lib" || lib.parent_path().filename() != "torch") return {};
  return lib.parent_path().parent_path().string();
}

std::vector<std::string> torchvision_library_candidates(const std::string& site_packages,
                                                        const std::vector<std::string>& torchvision_dir_names) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(site_packages) / "torchvision";
  for (const auto& n : torchvision_dir_names)
    if (n == "_C.so") out.insert(out.begin(), (dir / n).string());
  for (const auto& n : torchvision_dir_names)
    if (n != "_C.so" && n.rfind("_C.", 0) == 0 && n.size() > 3 && n.compare(n.size() - 3, 3, ".so") == 0)
      out.push_back((dir / n).string());
  return out;
}

std::vector<std::string> python_library_candidates(const std::string& site_packages, const std::string& pyvenv_cfg,
                                                   bool apple) {
  // ".../lib/python3.11/site-packages": the version is in the folder name, the prefix three up.
  const fs::path site(site_packages);
  const std::string pydir = site.parent_path().filename().string();  // "python3.11"
  if (pydir.rfind("python", 0) != 0 || pydir.size() <= 6) return {};
  const std::string version = pydir.substr(6);
  const fs::path prefix = site.parent_path().parent_path().parent_path();
  std::vector<fs::path> bases;
  std::stringstream cfg(pyvenv_cfg);
  for (std::string line; std::getline(cfg, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    if (trim(line.substr(0, eq)) == "home") bases.push_back(fs::path(trim(line.substr(eq + 1))).parent_path());
  }
  bases.push_back(prefix);
  std::vector<std::string> out;
  const std::string stem = "libpython" + version;
  for (const auto& b : bases) {
    if (apple) {
      out.push_back((b / "lib" / (stem + ".dylib")).string());
      out.push_back((b / "Python").string());  // python.org: .../Python.framework/Versions/X.Y/{bin,Python}
      out.push_back((b / "Frameworks" / "Python.framework" / "Versions" / version / "Python").string());  // Homebrew
    } else {
      out.push_back((b / "lib" / (stem + ".so.1.0")).string());
      out.push_back((b / "lib" / (stem + ".so")).string());
    }
  }
  if (apple) {
    out.push_back(stem + ".dylib");
  } else {
    out.push_back(stem + ".so.1.0");  // Debian/Ubuntu's libpython3.x package, in the loader's search path
    out.push_back(stem + ".so");
  }
  return out;
}

}  // namespace mpsfb::host
