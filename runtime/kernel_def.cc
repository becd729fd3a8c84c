#include "runtime/kernel_def.h"

#include "absl/strings/str_cat.h"

namespace flow {

std::string ShapeContext::Where() const {
  return absl::StrCat("op '", op.name(), "' (", op.type(), "): ");
}

}  // namespace flow
