#include "graph/watch.h"

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"

namespace flow {
namespace {

void AddWatch(const char* what, const Blob& blob, WatchCallback callback, bool diff) {
  JobBuilder* builder = JobBuilder::Current();
  // Outside a body there is no job to hold an error; the blob came from outside one too, so it
  // is a failed blob already, and any job it is fed to records that.
  if (builder == nullptr) return;
  if (!builder->Owns(blob)) {
    builder->Fail(absl::InvalidArgumentError(absl::StrCat(
        what, "(", blob.ok() ? absl::StrCat("blob '", blob.name(), "'") : "a failed blob",
        "): the blob is not of this job")));
    return;
  }
  if (diff && builder->minimized()) {
    builder->Fail(absl::FailedPreconditionError(
        absl::StrCat("watch_diff(blob '", blob.name(),
                     "') comes after minimize(loss): declare it before, so the backward pass "
                     "keeps the gradient")));
    return;
  }
  builder->watches().push_back({.blob = blob,
                                .diff = diff,
                                .fetched = diff ? "" : blob.name(),
                                .callback = std::move(callback)});
}

}  // namespace

void watch(const Blob& blob, WatchCallback callback) {
  AddWatch("watch", blob, std::move(callback), /*diff=*/false);
}

void watch_diff(const Blob& blob, WatchCallback callback) {
  AddWatch("watch_diff", blob, std::move(callback), /*diff=*/true);
}

}  // namespace flow
