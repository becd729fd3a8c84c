// A handle to a blob (a tensor-valued edge) of the job being recorded, with its static shape.
// Blobs are cheap values; a Blob that is not ok() stands for an op that failed to build — the
// job keeps the first error (sticky) and every op fed a failed blob fails quietly, so layer code
// stays flat and the error surfaces once, when the job is compiled.
//
//   flow::Blob x = flow::reshape(images, {images.shape()[0], -1});   // (100, 784)
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"  // every job-side helper takes its op name as a string_view
#include "runtime/dtype.h"
#include "runtime/shape.h"

namespace flow {

class JobBuilder;

class Blob {
 public:
  Blob() = default;

  bool ok() const { return builder_ != nullptr && dtype_ != DataType::kInvalid; }
  const Shape& shape() const { return shape_; }
  DataType dtype() const { return dtype_; }
  // The logical blob name, "<op name>/<output name>" as in OneFlow.
  const std::string& name() const { return name_; }
  JobBuilder* builder() const { return builder_; }
  // Why a failed blob failed when no job could keep the error (an op built outside a
  // global_function body); OK otherwise. A job that is fed such a blob records this error.
  const absl::Status& error() const { return error_; }

 private:
  friend class JobBuilder;
  friend class OpBuilder;
  explicit Blob(absl::Status error) : error_(std::move(error)) {}
  Blob(JobBuilder* builder, uint64_t job_id, std::string name, Shape shape, DataType dtype)
      : builder_(builder),
        job_id_(job_id),
        name_(std::move(name)),
        shape_(std::move(shape)),
        dtype_(dtype) {}

  JobBuilder* builder_ = nullptr;
  // The recording's JobBuilder::id(): a finished job's builder address may be reused by the next.
  uint64_t job_id_ = 0;
  std::string name_;
  Shape shape_;
  DataType dtype_ = DataType::kInvalid;
  absl::Status error_;
};

}  // namespace flow
