#include "device.h"

#include "apple.h"
#include "contract/copy_model.h"
#include "host.h"
#include "regular_file.h"
#include "stats.h"
#include "yaml_guard.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/mps.h>
#include <torch/version.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <limits>
#include <stdexcept>
#include <vector>

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/utsname.h>

namespace mpsfb {
namespace {

double us_since(Clock::time_point t0) { return us_between(t0, Clock::now()); }

// The CUDA driver names the GPU; asked through dlopen so the same binary builds against a
// CPU-only LibTorch.
std::string cuda_device_name(int index) {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return "CUDA device " + std::to_string(index);
  using InitFn = int (*)(unsigned);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto get = reinterpret_cast<GetFn>(dlsym(lib, "cuDeviceGet"));
  auto name = reinterpret_cast<NameFn>(dlsym(lib, "cuDeviceGetName"));
  char buf[256] = {0};
  int dev = 0;
  std::string out = "CUDA device " + std::to_string(index);
  if (init && get && name && init(0) == 0 && get(&dev, index) == 0 && name(buf, sizeof buf, dev) == 0) out = buf;
  dlclose(lib);
  return out;
}

std::string cpu_model() {
  if (const std::string brand = apple::sysctl_string("machdep.cpu.brand_string"); !brand.empty()) return brand;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// One tiny op on MPS: a device can be reported available and still fail on first use (virtual
// Macs such as GitHub's macOS runners cannot allocate on it: actions/runner-images#9918).
MpsStatus probe_mps() {
  MpsStatus s;
  s.present = torch::mps::is_available();
  if (!s.present) return s;
  try {
    const auto t = at::arange(4, at::TensorOptions().dtype(at::kFloat).device(at::kMPS));
    const float sum = (t * 2).sum().item<float>();  // 0 + 2 + 4 + 6
    torch::mps::synchronize();
    if (sum != 12.0f) s.problem = "a 4-element test op returned " + std::to_string(sum) + " instead of 12";
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    s.problem = "a 4-element test op failed: " + what;
  }
  if (!s.problem.empty())
    s.problem += " (seen on virtual Macs such as GitHub's macOS runners, actions/runner-images#9918)";
  return s;
}

}  // namespace

const MpsStatus& mps_status() {
  static const MpsStatus s = probe_mps();
  return s;
}

bool mps_available() { return mps_status().usable(); }

c10::Device select_device(const std::string& requested) {
  // Only ask MPS when it could be chosen: the probe runs an op on it.
  const bool ask_mps = requested == "auto" || requested == "mps";
  const MpsStatus mps = ask_mps ? mps_status() : MpsStatus{};
  const bool cuda = (requested == "auto" || requested == "cuda") && torch::cuda::is_available();
  const host::DeviceChoice c = host::choose_device(requested, mps.present, mps.problem, cuda, torch_version());
  if (!c.error.empty()) throw std::runtime_error(c.error);
  if (!c.note.empty()) std::cerr << "mps_benchmarks: " << c.note << "\n";
  if (c.device == "mps") return c10::Device(c10::kMPS);
  if (c.device == "cuda") return c10::Device(c10::kCUDA, 0);
  return c10::Device(c10::kCPU);
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda())
    torch::cuda::synchronize(device.index());
  else if (device.is_mps())
    torch::mps::synchronize();
}

counters::CopyModel measure_copy_model(const c10::Device& device, int64_t max_bytes, int reps) {
  counters::CopyModel model;
  if (device.is_cpu()) return model;
  // The floor must be a lower bound for every tensor size, and pageable copies do not run
  // at one speed: small ones stage through pinned buffers differently from large ones. Time
  // several sizes and keep the best bandwidth each way. Both ends are allocated and touched
  // first, or the time would go to page faults rather than the copy.
  for (int64_t bytes = max_bytes >> 6; bytes <= max_bytes; bytes <<= 2) {
    auto host = at::rand({bytes / 4}, at::kFloat);
    auto dev = host.to(device);
    synchronize(device);
    std::vector<double> h2d, d2h;
    for (int i = 0; i < reps; ++i) {
      auto t0 = Clock::now();
      dev.copy_(host);
      synchronize(device);
      h2d.push_back(us_since(t0));
      t0 = Clock::now();
      host.copy_(dev);  // blocking: the destination is pageable host memory
      d2h.push_back(us_since(t0));
    }
    model.h2d_bytes_per_us = std::max(model.h2d_bytes_per_us, static_cast<double>(bytes) / median(h2d));
    model.d2h_bytes_per_us = std::max(model.d2h_bytes_per_us, static_cast<double>(bytes) / median(d2h));
  }
  std::vector<double> sync;
  for (int i = 0; i < 20 * reps; ++i) {
    auto t0 = Clock::now();
    synchronize(device);
    sync.push_back(us_since(t0));
  }
  model.sync_us = median(sync);
  // The fixed cost of one copy: a tensor as small as an op's scalar argument, moved the way
  // cpu_fallback moves it (a new tensor each time, no extra synchronize), from an idle device.
  auto small_host = at::ones({16}, at::kFloat);
  auto small_dev = small_host.to(device);
  std::vector<double> h2d_lat, d2h_lat;
  for (int i = 0; i < 20 * reps; ++i) {
    synchronize(device);
    auto t0 = Clock::now();
    auto d = small_host.to(device);
    h2d_lat.push_back(us_since(t0));
    synchronize(device);
    t0 = Clock::now();
    auto h = small_dev.cpu();
    d2h_lat.push_back(us_since(t0));
  }
  model.h2d_latency_us = median(h2d_lat);
  model.d2h_latency_us = median(d2h_lat);
  model.name = "measured";
  model.source = "measured at start on " + device.str();
  return model;
}

counters::CopyModel load_copy_model(const std::string& path) {
  const copy_model::Figures f = copy_model::load(path);
  counters::CopyModel m;
  m.h2d_bytes_per_us = f.h2d_bytes_per_us;
  m.d2h_bytes_per_us = f.d2h_bytes_per_us;
  m.h2d_latency_us = f.h2d_latency_us;
  m.d2h_latency_us = f.d2h_latency_us;
  m.sync_us = f.sync_us;
  m.name = f.name;
  m.source = f.source;
  return m;
}

std::string set_host_allocator(const std::string& mode) {
  if (mode != "steady") return "system default";
#if defined(__GLIBC__)
  // M_MMAP_MAX = 0: no block is mapped afresh, so none is unmapped on free and faulted in (and
  // zeroed) again on the next call; M_TRIM_THRESHOLD at its maximum: the heap's free top is kept.
  // Setting them also stops glibc's dynamic thresholds, the part that depends on history.
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
  return ok ? "steady: glibc malloc reuses freed memory (M_MMAP_MAX=0, M_TRIM_THRESHOLD=INT_MAX)"
            : "system default (mallopt failed)";
#else
  return "system default (no glibc: the steady setting applies to glibc malloc only)";
#endif
}

std::string device_name(const c10::Device& device) {
  if (device.is_cuda()) return cuda_device_name(device.index() < 0 ? 0 : device.index());
  if (device.is_mps()) return host::mps_device_name(cpu_model());
  return cpu_model();
}

std::string os_version() {
  if (const std::string v = apple::sysctl_string("kern.osproductversion"); !v.empty())
    return host::macos_version(v, apple::sysctl_string("hw.machine"));
  std::ifstream in("/etc/os-release");
  std::stringstream text;
  text << in.rdbuf();
  struct utsname u {};
  uname(&u);
  return host::linux_version(text.str(), u.sysname, u.release, u.machine);
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace mpsfb
