// The static MPS verdict: the rule on small yaml texts, and the verdicts of known ops in the
// torch this test links (its own native_functions.yaml), including composites judged from the
// calls one CPU call makes and every op PyTorch's own UNIMPLEMENTED_XFAILLIST names.
#include "device.h"
#include "fallback.h"
#include "mps_verdict.h"
#include "paths.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

namespace {

using namespace mpsfb;
using verdicts::Book;
using verdicts::Static;

constexpr const char* kYaml = R"(
- func: roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor
  dispatch:
    CPU, MPS: roll
    CUDA: roll_cuda
- func: isin.Tensor_Tensor_out(Tensor elements, Tensor test_elements, *, Tensor(a!) out) -> Tensor(a!)
  structured: True
  dispatch:
    CPU, CUDA: isin_out
    MPS: isin_out_mps
- func: isin.Tensor_Tensor(Tensor elements, Tensor test_elements) -> Tensor
  structured_delegate: isin.Tensor_Tensor_out
- func: mode(Tensor self, int dim=-1, bool keepdim=False) -> (Tensor values, Tensor indices)
  dispatch:
    CPU, CUDA: mode
- func: ndtri.out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)
  dispatch:
    CPU, CUDA: ndtri_out
- func: ndtri(Tensor self) -> Tensor
  structured_delegate: ndtri.out
- func: sparse_only(Tensor self) -> Tensor
  dispatch:
    SparseCPU, SparseMPS: sparse_only
- func: clone(Tensor self) -> Tensor
  dispatch:
    CompositeExplicitAutograd: clone
    SparseCPU: clone_sparse
- func: logspace(Scalar start, Scalar end, int steps) -> Tensor
  dispatch:
    CompositeExplicitAutograd: logspace
- func: logspace.out(Scalar start, Scalar end, int steps, *, Tensor(a!) out) -> Tensor(a!)
  dispatch:
    CPU, Meta: logspace_out
- func: pool3d(Tensor self) -> Tensor
- func: embedding_renorm_(Tensor(a!) self, Tensor indices, float max_norm, float norm_type) -> Tensor(a!)
  dispatch:
    CPU: embedding_renorm_cpu_
- func: col2im(Tensor self) -> Tensor
  dispatch:
    CPU: col2im_cpu
    MPS: col2im_mps
)";

Book small_book(const std::string& torch = "2.13.0") {
  return Book(verdicts::parse_native_functions(kYaml, "small.yaml"), torch);
}

TEST(VerdictRule, NativeOnTheEntryItsDelegateOrItsOutVariant) {
  const Book b = small_book();
  EXPECT_EQ(b.classify("aten::roll"), Static::kNative);                // "CPU, MPS: roll"
  EXPECT_EQ(b.classify("aten::isin.Tensor_Tensor"), Static::kNative);  // structured_delegate
  EXPECT_EQ(b.classify("aten::isin.Tensor_Tensor_out"), Static::kNative);
}

TEST(VerdictRule, BackendKernelsWithoutMpsFallBack) {
  const Book b = small_book();
  EXPECT_EQ(b.classify("aten::mode"), Static::kFallsBack);
  EXPECT_EQ(b.classify("aten::ndtri"), Static::kFallsBack);        // its delegate has no MPS
  EXPECT_EQ(b.classify("aten::sparse_only"), Static::kFallsBack);  // SparseMPS is not MPS
  EXPECT_EQ(b.classify("aten::logspace.out"), Static::kFallsBack);
}

TEST(VerdictRule, CompositesAreJudgedByTheLeavesTheyCall) {
  const Book b = small_book();
  EXPECT_EQ(b.classify("aten::logspace"), Static::kComposite);
  EXPECT_EQ(b.classify("aten::pool3d"), Static::kComposite);  // no dispatch: CompositeImplicitAutograd
  EXPECT_EQ(b.classify("aten::clone"), Static::kComposite);   // SparseCPU does not make it a backend op

  const verdicts::CallGraph calls = {{"aten::logspace", {"aten::empty", "aten::logspace.out"}}};
  const auto v = b.judge("aten::logspace", "f32", &calls);
  EXPECT_EQ(v.verdict, verdict::kFallsBack);
  EXPECT_EQ(v.via, std::vector<std::string>{"aten::logspace.out"});  // aten::empty is not in this yaml: no kernel
  EXPECT_EQ(v.text("aten::logspace"), "falls back via aten::logspace.out");

  const verdicts::CallGraph native_leaves = {{"aten::pool3d", {"aten::roll", "aten::clone"}}};
  const auto n = b.judge("aten::pool3d", "f32", &native_leaves);
  EXPECT_EQ(n.verdict, verdict::kNative);
  EXPECT_EQ(n.via, (std::vector<std::string>{"aten::clone", "aten::roll"}));  // clone calls nothing: runs as it is

  // Not observed: a composite's verdict is unknown, never guessed.
  EXPECT_EQ(b.judge("aten::pool3d", "f32", nullptr).verdict, verdict::kUnknown);
}

TEST(VerdictRule, AlwaysFallbackTableUnlessTheYamlGivesAKernel) {
  const Book b = small_book("2.13.0");
  std::string why;
  EXPECT_EQ(b.classify("aten::embedding_renorm_", &why), Static::kFallsBack);
  EXPECT_NE(why.find("MPSFallback.mm"), std::string::npos) << why;
  EXPECT_EQ(b.classify("aten::col2im"), Static::kNative);  // in the 2.8-2.13 row, but the yaml has col2im_mps
  EXPECT_EQ(verdicts::always_fallback_ops("2.6.1").size(), 5u);
  EXPECT_EQ(verdicts::always_fallback_ops("2.15.0"), std::vector<std::string>{"embedding_renorm_"});
  EXPECT_TRUE(verdicts::always_fallback_ops("1.13.1").empty());
}

TEST(VerdictRule, DtypesMpsCannotHoldAreNotFallbacks) {
  const Book b = small_book();
  const auto v = b.judge("aten::mode", "f64", nullptr);
  EXPECT_EQ(v.verdict, verdict::kUnsupportedDtype);
  EXPECT_NE(v.source.find("float64"), std::string::npos) << v.source;
  EXPECT_EQ(b.judge("aten::mode", "c128", nullptr).verdict, verdict::kUnsupportedDtype);
  EXPECT_EQ(b.judge("aten::mode", "f16", nullptr).verdict, verdict::kFallsBack);
}

TEST(VerdictRule, WithoutAYamlEveryVerdictIsUnknownAndSaysWhy) {
  const Book b(std::nullopt, "2.13.0", "unknown: no native_functions.yaml (gone)");
  const auto v = b.judge("aten::roll", "f32", nullptr);
  EXPECT_EQ(v.verdict, verdict::kUnknown);
  EXPECT_NE(v.source.find("gone"), std::string::npos);
  EXPECT_EQ(b.judge("torchvision::nms", "f32", nullptr).verdict, verdict::kNative);  // known outside the yaml
}

TEST(VerdictRule, BadYamlNamesTheFileAndLine) {
  try {
    verdicts::parse_native_functions("- func: a(Tensor x) -> Tensor\n- dispatch: [\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(verdicts::parse_native_functions("a: 1\n", "map.yaml"), std::runtime_error);
  EXPECT_THROW(verdicts::parse_native_functions("- dispatch: {CPU: x}\n", "nofunc.yaml"), std::runtime_error);
  try {
    verdicts::load_native_functions("/nonexistent/native_functions.yaml");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/native_functions.yaml: no such file"), std::string::npos);
  }
}

// The torch this test links, through the yaml beside it: what the issue's users see.
class LinkedTorch : public ::testing::Test {
 protected:
  void SetUp() override {
    book_ = std::make_unique<Book>(load_verdicts({}, &yaml_));
    ASSERT_TRUE(book_->has_yaml()) << "native_functions.yaml beside the linked torch: " << yaml_;
  }
  bool is_2_13() const { return torch_version().rfind("2.13.", 0) == 0; }
  // Runs `f` on CPU and judges `op` from the calls it made.
  template <class F>
  verdicts::Verdict observed(const std::string& op, F f) {
    ObserverOptions o;
    o.collect_calls = true;
    FallbackObserver observer(o);
    f();
    const auto calls = observer.calls();
    return book_->judge(op, "f32", &calls);
  }
  std::unique_ptr<Book> book_;
  std::string yaml_;
};

TEST_F(LinkedTorch, KnownOpsOfTorch213) {
  if (!is_2_13()) GTEST_SKIP() << "the expectations are torch 2.13's; this is " << torch_version();
  for (const char* op : {"aten::roll", "aten::isin.Tensor_Tensor", "aten::index_copy", "aten::grid_sampler_3d",
                         "aten::_upsample_bicubic2d_aa", "aten::col2im", "aten::cumsum"})
    EXPECT_EQ(book_->classify(op), Static::kNative) << op;
  for (const char* op : {"aten::linalg_eig", "aten::_linalg_eigvals", "aten::_ctc_loss", "aten::binomial",
                         "aten::poisson", "aten::_int_mm", "aten::special_ndtri", "aten::logspace.out", "aten::mode",
                         "aten::embedding_renorm_"})
    EXPECT_EQ(book_->classify(op), Static::kFallsBack) << op;
}

TEST_F(LinkedTorch, AnMpsKernelThatOnlyRaisesIsNoFallback) {
  std::string why;
  EXPECT_EQ(book_->classify("aten::_slow_conv2d_forward", &why), Static::kUnknown);
  EXPECT_NE(why.find("an error, not a fallback"), std::string::npos) << why;
}

TEST_F(LinkedTorch, CompositeWithAFallingBackLeaf) {
  const auto x = at::randn({1, 2, 4, 4, 4});
  const auto v = observed("aten::adaptive_avg_pool3d", [&] { at::adaptive_avg_pool3d(x, {2, 2, 2}); });
  EXPECT_EQ(v.verdict, verdict::kFallsBack);
  EXPECT_EQ(v.via, std::vector<std::string>{"aten::_adaptive_avg_pool3d"});
  EXPECT_EQ(v.text("aten::adaptive_avg_pool3d"), "falls back via aten::_adaptive_avg_pool3d");
}

TEST_F(LinkedTorch, CompositeOfNativeLeaves) {
  const auto x = at::randn({1, 2, 4, 4, 4});
  const auto v = observed("aten::upsample_nearest3d.vec", [&] {
    at::upsample_nearest3d(x, at::OptionalIntArrayRef(std::vector<int64_t>{8, 8, 8}), std::optional<at::ArrayRef<double>>());
  });
  EXPECT_EQ(v.verdict, verdict::kNative);
  EXPECT_EQ(v.via, std::vector<std::string>{"aten::upsample_nearest3d"});
  EXPECT_EQ(v.text("aten::upsample_nearest3d.vec"), "native: all leaves have MPS kernels (aten::upsample_nearest3d)");
}

TEST_F(LinkedTorch, DtypeMpsCannotHold) {
  EXPECT_EQ(book_->judge("aten::roll", "f64", nullptr).verdict, verdict::kUnsupportedDtype);
}

// Every entry of PyTorch's own list of ops unimplemented on MPS that ops/mps_unimplemented.yaml
// maps to aten ops falls back; the others say why not.
TEST_F(LinkedTorch, UnimplementedXfailListFallsBack) {
  const auto path = std::string(MPSFB_SOURCE_DIR) + "/ops/mps_unimplemented.yaml";
  const YAML::Node doc = YAML::LoadFile(path);
  const auto torch = doc["torch"].as<std::string>();
  if (torch_version().rfind(torch, 0) != 0) GTEST_SKIP() << path << " maps torch " << torch;
  size_t mapped = 0;
  for (const auto& e : doc["entries"]) {
    const auto opinfo = e["opinfo"].as<std::string>();
    if (!e["aten"]) {
      EXPECT_FALSE(e["why_not"].as<std::string>("").empty()) << opinfo << ": neither aten: nor why_not:";
      continue;
    }
    for (const auto& op : e["aten"]) {
      std::string why;
      EXPECT_EQ(book_->classify(op.as<std::string>(), &why), Static::kFallsBack)
          << opinfo << " -> " << op.as<std::string>() << " (" << why << ")";
      ++mapped;
    }
  }
  EXPECT_GE(mapped, 20u);
}

}  // namespace
