#include "device.h"

#include "stats.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/mps.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <vector>

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#include <dlfcn.h>
#include <sys/utsname.h>

namespace mpsfb {
namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

#if defined(__APPLE__)
std::string sysctl_string(const char* name) {
  size_t size = 0;
  if (sysctlbyname(name, nullptr, &size, nullptr, 0) != 0 || size == 0) return "";
  std::string out(size, '\0');
  if (sysctlbyname(name, out.data(), &size, nullptr, 0) != 0) return "";
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}
#endif

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
#if defined(__APPLE__)
  return sysctl_string("machdep.cpu.brand_string");
#else
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
#endif
}

}  // namespace

bool mps_available() { return torch::mps::is_available(); }

c10::Device select_device(const std::string& requested) {
  if (requested == "auto") {
    if (mps_available()) return c10::Device(c10::kMPS);
    if (torch::cuda::is_available()) return c10::Device(c10::kCUDA, 0);
    return c10::Device(c10::kCPU);
  }
  if (requested == "mps") {
    if (!mps_available()) throw std::runtime_error("--device=mps: MPS is not available in this build or on this machine");
    return c10::Device(c10::kMPS);
  }
  if (requested == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("--device=cuda: CUDA is not available (LibTorch " + torch_version() +
                               " without CUDA, or no GPU)");
    return c10::Device(c10::kCUDA, 0);
  }
  if (requested == "cpu") return c10::Device(c10::kCPU);
  throw std::runtime_error("--device=" + requested + ": unknown device (expected: auto, mps, cuda or cpu)");
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
  return model;
}

std::string device_name(const c10::Device& device) {
  if (device.is_cuda()) return cuda_device_name(device.index() < 0 ? 0 : device.index());
  if (device.is_mps()) return cpu_model() + " GPU (MPS)";
  return cpu_model();
}

std::string os_version() {
#if defined(__APPLE__)
  return "macOS " + sysctl_string("kern.osproductversion") + " (" + sysctl_string("hw.machine") + ")";
#else
  std::ifstream in("/etc/os-release");
  std::string line, pretty;
  while (std::getline(in, line))
    if (line.rfind("PRETTY_NAME=", 0) == 0) pretty = line.substr(13, line.size() - 14);
  struct utsname u {};
  uname(&u);
  return (pretty.empty() ? std::string(u.sysname) : pretty) + ", kernel " + u.release + " (" + u.machine + ")";
#endif
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace mpsfb
