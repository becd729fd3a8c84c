#include "checkpoint/meta_file.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/variable_meta_info.pb.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

// Keeps the parser's complaints for the Status instead of protobuf's default stderr logging.
class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (errors_.size() < kMaxKept) {
      errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
    }
  }
  std::string Joined() const {
    return errors_.empty() ? std::string("not a VariableMetaInfo text")
                           : absl::StrJoin(errors_, "; ");
  }

 private:
  static constexpr size_t kMaxKept = 3;
  std::vector<std::string> errors_;
};

}  // namespace

std::string FormatMetaFile(const Shape& shape, DataType dtype) {
  FLOWRT_CHECK(ItemSize(dtype) > 0) << "FormatMetaFile of dtype " << static_cast<int>(dtype);
  oneflow::VariableMetaInfo info;
  // mutable_shape() sets the sub-message even for rank 0, so the block is always printed.
  oneflow::ShapeProto* shape_proto = info.mutable_shape();
  for (int64_t dim : shape.dims()) shape_proto->add_dim(dim);
  info.set_data_type(static_cast<oneflow::DataType>(static_cast<int>(dtype)));
  std::string text;
  FLOWRT_CHECK(google::protobuf::TextFormat::PrintToString(info, &text));
  return text;
}

absl::StatusOr<VariableMeta> ParseMetaFile(absl::string_view text) {
  if (static_cast<int64_t>(text.size()) > kMaxMetaFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("meta is ", text.size(), " bytes; at most ",
                                                   kMaxMetaFileBytes, " are accepted"));
  }
  oneflow::VariableMetaInfo info;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  // Partial: a missing `shape` is rank 0; the required `data_type` is checked below by hand.
  parser.AllowPartialMessage(true);
  if (!parser.ParseFromString(std::string(text), &info)) {
    return absl::InvalidArgumentError(absl::StrCat("unparsable meta: ", errors.Joined()));
  }
  if (!info.has_data_type()) return absl::InvalidArgumentError("meta has no data_type");
  const int enum_value = static_cast<int>(info.data_type());
  const std::optional<DataType> dtype = DataTypeFromEnumValue(enum_value);
  if (!dtype.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta has data_type ", oneflow::DataType_Name(info.data_type()), " (",
                     enum_value, "), which a snapshot variable cannot hold"));
  }
  const int rank = info.shape().dim_size();
  if (rank > kMaxMetaRank) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta has rank ", rank, "; at most ", kMaxMetaRank, " is accepted"));
  }
  std::vector<int64_t> dims(info.shape().dim().begin(), info.shape().dim().end());
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("meta has negative dim ", dims[i], " at axis ", i));
    }
  }
  VariableMeta meta;
  meta.shape = Shape(std::move(dims));
  meta.dtype = *dtype;
  const std::optional<int64_t> elements = meta.shape.CheckedNumElements();
  const int64_t item_size = ItemSize(*dtype);
  if (!elements.has_value() || *elements > std::numeric_limits<int64_t>::max() / item_size) {
    return absl::InvalidArgumentError(absl::StrCat("meta shape ", meta.shape.ToString(), " of ",
                                                   DataTypeName(*dtype),
                                                   " has a byte size that overflows int64"));
  }
  meta.num_bytes = *elements * item_size;
  return meta;
}

}  // namespace flow::checkpoint
