// Status helpers: Abseil 20220623 has no ASSIGN_OR_RETURN and no absl/log, so flowrt keeps its
// own small set here — the one Status macro set of the project. Every macro is FLOWRT_-prefixed:
// this header reaches every user's program through graph/flow.h, next to glog's or absl's CHECK.
//
//   absl::StatusOr<Tensor> Load(...);
//   FLOWRT_ASSIGN_OR_RETURN(Tensor t, Load(...));
//   FLOWRT_RETURN_IF_ERROR(Save(t));
//   FLOWRT_CHECK(index < size) << "index " << index;   // internal invariants only
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FLOWRT_CONCAT_INNER(a, b) a##b
#define FLOWRT_CONCAT(a, b) FLOWRT_CONCAT_INNER(a, b)

#define FLOWRT_RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status flowrt_status_ = (expr);                     \
    if (!flowrt_status_.ok()) return flowrt_status_;            \
  } while (0)

#define FLOWRT_ASSIGN_OR_RETURN(lhs, expr) \
  FLOWRT_ASSIGN_OR_RETURN_IMPL(FLOWRT_CONCAT(flowrt_statusor_, __LINE__), lhs, expr)
#define FLOWRT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

namespace flow::internal {

// Streams a message and aborts when destroyed: the tail of a failed FLOWRT_CHECK.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": CHECK failed: " << condition << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `FLOWRT_CHECK(x) << ...` be a single expression of type void.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace flow::internal

#define FLOWRT_CHECK(condition)                      \
  (condition) ? (void)0                       \
              : ::flow::internal::Voidify() & \
                    ::flow::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()
#define FLOWRT_CHECK_OK(expr)                                          \
  do {                                                          \
    ::absl::Status flowrt_check_status_ = (expr);               \
    FLOWRT_CHECK(flowrt_check_status_.ok()) << flowrt_check_status_;   \
  } while (0)
#define FLOWRT_CHECK_EQ(a, b) FLOWRT_CHECK((a) == (b)) << "(" << (a) << " vs " << (b) << ") "
#define FLOWRT_CHECK_NE(a, b) FLOWRT_CHECK((a) != (b))
#define FLOWRT_CHECK_LT(a, b) FLOWRT_CHECK((a) < (b)) << "(" << (a) << " vs " << (b) << ") "
#define FLOWRT_CHECK_LE(a, b) FLOWRT_CHECK((a) <= (b)) << "(" << (a) << " vs " << (b) << ") "
#define FLOWRT_CHECK_GE(a, b) FLOWRT_CHECK((a) >= (b)) << "(" << (a) << " vs " << (b) << ") "
#define FLOWRT_CHECK_GT(a, b) FLOWRT_CHECK((a) > (b)) << "(" << (a) << " vs " << (b) << ") "
