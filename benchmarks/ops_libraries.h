// Other libraries' ops for `requires:` entries: torchvision's ops library, loaded into this
// process from the Python environment of the linked torch, so torchvision::nms and
// torchvision::deform_conv2d rows run (fixtures/vision.cpp calls them through the dispatcher).
//
//   load_ops_library("torchvision");   // once, before the targets are checked (suite.cpp)
//   unavailable_reason("torchvision", "torchvision::nms")
//     -> "unavailable: torchvision not found in /.../site-packages (...)"
//
// Where it looks: MPSFB_TORCHVISION_LIB=/path/to/_C.so, else site-packages/torchvision/_C.so
// next to the linked torch (host.h torchvision_library_candidates).
#pragma once

#include <string>

namespace mpsfb {

struct LibraryStatus {
  bool loaded = false;
  std::string path;  // the file loaded or tried
  std::string why;   // not loaded: why ("torchvision not found in ...", "... did not load: ...")
};

// Loads `name`'s ops into the process once (later calls return the first answer). Only
// "torchvision" is known; any other name is not loaded, with a why saying so.
const LibraryStatus& load_ops_library(const std::string& name);

// The skip message of a row whose op (`op`, required from `name`) the dispatcher does not have.
std::string unavailable_reason(const std::string& name, const std::string& op);

// The folder of the libtorch this process runs (".../site-packages/torch/lib" for a wheel); ""
// when the loader cannot say.
std::string torch_library_dir();

}  // namespace mpsfb
