// A handle to a blob (a tensor-valued edge) of the job being recorded, with its static shape.
// Blobs are cheap values; a Blob that is not ok() stands for an op that failed to build — the
// job keeps the first error (sticky) and every op fed a failed blob fails quietly, so layer code
// stays flat and the error surfaces once, when the job is compiled.
//
//   flow::Blob x = flow::reshape(images, {images.shape()[0], -1});   // (100, 784)
#pragma once

#include <string>

#include "ops/op_registry.h"

namespace flow {

class JobBuilder;

class Blob {
 public:
  Blob() = default;

  bool ok() const { return builder_ != nullptr && desc_.dtype != DataType::kInvalid; }
  const Shape& shape() const { return desc_.shape; }
  DataType dtype() const { return desc_.dtype; }
  const BlobDesc& desc() const { return desc_; }
  // The logical blob name, "<op name>/<output name>" as in OneFlow.
  const std::string& name() const { return name_; }
  JobBuilder* builder() const { return builder_; }

 private:
  friend class JobBuilder;
  Blob(JobBuilder* builder, std::string name, BlobDesc desc)
      : builder_(builder), name_(std::move(name)), desc_(std::move(desc)) {}

  JobBuilder* builder_ = nullptr;
  std::string name_;
  BlobDesc desc_;
};

}  // namespace flow
