// The tests' one scratch directory: a fresh, empty directory under the system temp dir (mkdtemp,
// named after the running test), removed with everything in it when the object goes away.
//
//   testing::ScratchDir dir;                          // /tmp/flowrt_Suite_Test_a1B2c3
//   std::ofstream(dir.File("a.csv")) << "x\n";        // "<dir>/a.csv"
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace flow::testing {

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // "<path>/<name>"; `name` may contain slashes (nothing is created).
  std::string File(absl::string_view name) const;

 private:
  std::string path_;
};

}  // namespace flow::testing
