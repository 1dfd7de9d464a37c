#include "ops_libraries.h"

#include "host.h"

#include <ATen/Context.h>

#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace mpsfb {

namespace fs = std::filesystem;

namespace {

std::string dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown error";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

#if defined(__APPLE__)
constexpr bool kApple = true;
constexpr const char* kTorchPython = "libtorch_python.dylib";
#else
constexpr bool kApple = false;
constexpr const char* kTorchPython = "libtorch_python.so";
#endif

// A wheel's torchvision/_C.so needs libtorch_python, which leaves Python's own symbols to the
// interpreter that imports it; outside Python, load the Python library first, then it.
std::string load_torch_python(const std::string& site) {
  const std::string torch_lib = torch_library_dir();
  const fs::path venv = fs::path(site).parent_path().parent_path().parent_path();
  const std::string cfg = read_text(venv / "pyvenv.cfg");
  bool python = false;
  for (const auto& candidate : host::python_library_candidates(site, cfg, kApple)) {
    const bool path = candidate.find('/') != std::string::npos;
    if (path && !fs::exists(candidate)) continue;
    if (dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      python = true;
      break;
    }
  }
  if (!python) return "no Python library found for " + site + " (libtorch_python needs it)";
  const std::string tp = (fs::path(torch_lib) / kTorchPython).string();
  if (!dlopen(tp.c_str(), RTLD_NOW | RTLD_GLOBAL)) return tp + ": " + dl_error();
  return {};
}

LibraryStatus load_torchvision() {
  LibraryStatus s;
  std::vector<std::string> candidates;
  std::string where;
  if (const char* env = std::getenv("MPSFB_TORCHVISION_LIB"); env && *env) {
    candidates.push_back(env);
    where = "MPSFB_TORCHVISION_LIB=" + std::string(env);
    if (!fs::exists(env)) {
      s.why = "torchvision not found: " + where + " does not exist";
      return s;
    }
  } else {
    const std::string lib = torch_library_dir();
    const std::string site = host::site_packages_of(lib);
    where = site.empty() ? "the environment of the linked torch (" + (lib.empty() ? "location unknown" : lib) + ")" : site;
    std::vector<std::string> names;
    std::error_code ec;
    if (!site.empty())
      for (const auto& e : fs::directory_iterator(fs::path(site) / "torchvision", ec)) names.push_back(e.path().filename().string());
    candidates = host::torchvision_library_candidates(site, names);
    if (candidates.empty()) {
      s.why = "torchvision not found in " + where +
              " (the Python environment of the linked torch: pip install torchvision there, matching the torch "
              "version, or set MPSFB_TORCHVISION_LIB=/path/to/torchvision/_C.so)";
      return s;
    }
  }
  s.path = candidates.front();
  if (dlopen(s.path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    s.loaded = true;
    return s;
  }
  std::string err = dl_error();
  if (err.find("torch_python") != std::string::npos) {
    const std::string site = host::site_packages_of(torch_library_dir());
    const std::string pre = site.empty() ? "the linked torch is not a wheel's" : load_torch_python(site);
    if (pre.empty() && dlopen(s.path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      s.loaded = true;
      return s;
    }
    err = pre.empty() ? dl_error() : err + " (and " + pre + ")";
  }
  s.why = "torchvision at " + s.path + " did not load: " + err +
          " (a torchvision built for another torch? it must match the linked LibTorch)";
  return s;
}

}  // namespace

std::string torch_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&at::globalContext), &info) == 0 || !info.dli_fname) return {};
  return fs::path(info.dli_fname).parent_path().string();
}

const LibraryStatus& load_ops_library(const std::string& name) {
  static std::map<std::string, LibraryStatus> done;
  if (const auto it = done.find(name); it != done.end()) return it->second;
  LibraryStatus s;
  if (name == "torchvision") {
    s = load_torchvision();
    if (s.loaded)
      std::cerr << "mps_benchmarks: loaded torchvision's ops from " << s.path << "\n";
    else
      std::cerr << "mps_benchmarks: " << s.why << "; its rows are skipped\n";
  } else {
    s.why = name + " is not a library mps_benchmarks knows how to load (it loads torchvision)";
  }
  return done.emplace(name, std::move(s)).first->second;
}

std::string unavailable_reason(const std::string& name, const std::string& op) {
  const LibraryStatus& s = load_ops_library(name);
  if (!s.loaded) return "unavailable: " + s.why;
  return "unavailable: " + name + " loaded from " + s.path + " does not register " + op + " (another version?)";
}

}  // namespace mpsfb
