// A stand-in for torchvision's ops library, for tests only: it registers torchvision::nms with a
// plain CPU kernel (greedy non-maximum suppression), so loading a library from
// MPSFB_TORCHVISION_LIB and running a `requires: torchvision` row can be tested where
// torchvision is not installed. Its timings mean nothing; the real library's do.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <vector>

namespace {

at::Tensor nms_cpu(const at::Tensor& dets, const at::Tensor& scores, double iou_threshold) {
  TORCH_CHECK(dets.dim() == 2 && dets.size(1) == 4, "fake torchvision::nms: dets must be [N, 4]");
  const auto boxes = dets.to(at::kFloat).contiguous();
  const auto order = std::get<1>(scores.sort(0, /*descending=*/true));
  const auto b = boxes.accessor<float, 2>();
  const auto o = order.accessor<int64_t, 1>();
  const int64_t n = dets.size(0);
  std::vector<char> dropped(static_cast<size_t>(n), 0);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t a = o[i];
    if (dropped[static_cast<size_t>(a)]) continue;
    keep.push_back(a);
    const float area_a = (b[a][2] - b[a][0]) * (b[a][3] - b[a][1]);
    for (int64_t j = i + 1; j < n; ++j) {
      const int64_t c = o[j];
      const float w = std::max(0.f, std::min(b[a][2], b[c][2]) - std::max(b[a][0], b[c][0]));
      const float h = std::max(0.f, std::min(b[a][3], b[c][3]) - std::max(b[a][1], b[c][1]));
      const float inter = w * h, area_c = (b[c][2] - b[c][0]) * (b[c][3] - b[c][1]);
      if (inter / (area_a + area_c - inter) > iou_threshold) dropped[static_cast<size_t>(c)] = 1;
    }
  }
  return at::tensor(keep, at::kLong);
}

}  // namespace

TORCH_LIBRARY(torchvision, m) { m.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"); }
TORCH_LIBRARY_IMPL(torchvision, CPU, m) { m.impl("nms", nms_cpu); }
