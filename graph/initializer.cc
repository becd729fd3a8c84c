#include "graph/initializer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/initializer_proto.h"
#include "runtime/random.h"
#include "runtime/status.h"

// mean + std * z must round the same way everywhere (see runtime/random.h): no FMA contraction.
#include "runtime/fp_contract_off.h"

namespace flow {
namespace {

using oneflow::InitializerConf;

// Std of a standard normal truncated to (-2, 2); variance_scaling divides by it so the truncated
// result has the intended std (OneFlow's and TF's constant).
constexpr double kTruncatedNormalStdFactor = 0.87962566103423978;

bool IsFloatType(DataType dtype) { return dtype == kFloat || dtype == kDouble; }
bool IsIntType(DataType dtype) { return dtype == kInt8 || dtype == kInt32 || dtype == kInt64; }

// Inclusive value range of an integer dtype, as doubles (exact for int8/int32; int64's bounds
// are powers of two, so also exact).
void IntRange(DataType dtype, double* lo, double* hi) {
  switch (dtype) {
    case DataType::kInt8:
      *lo = std::numeric_limits<int8_t>::min();
      *hi = std::numeric_limits<int8_t>::max();
      return;
    case DataType::kInt32:
      *lo = std::numeric_limits<int32_t>::min();
      *hi = std::numeric_limits<int32_t>::max();
      return;
    default:
      *lo = -0x1.0p63;
      *hi = 0x1.0p63;  // exclusive for int64; callers compare with < for int64 below
      return;
  }
}

// True if `v` (already integral) can be stored in an integer dtype.
bool FitsIntType(double v, DataType dtype) {
  double lo, hi;
  IntRange(dtype, &lo, &hi);
  if (dtype == kInt64) return v >= lo && v < hi;
  return v >= lo && v <= hi;
}
bool FitsIntType(int64_t v, DataType dtype) {
  switch (dtype) {
    case DataType::kInt8:
      return v >= std::numeric_limits<int8_t>::min() && v <= std::numeric_limits<int8_t>::max();
    case DataType::kInt32:
      return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    default:
      return true;
  }
}

absl::StatusOr<oneflow::VarianceNorm> ParseMode(absl::string_view caller, absl::string_view mode) {
  if (mode == "fan_in") return oneflow::kFanIn;
  if (mode == "fan_out") return oneflow::kFanOut;
  if (mode == "fan_avg") return oneflow::kAverage;
  return absl::InvalidArgumentError(absl::StrCat(
      caller, ": mode must be \"fan_in\", \"fan_out\" or \"fan_avg\", got \"", mode, "\""));
}

absl::string_view ConfName(const InitializerConf& conf) {
  switch (conf.type_case()) {
    case InitializerConf::kConstantConf:
      return "constant_initializer";
    case InitializerConf::kConstantIntConf:
      return "constant_initializer (integer)";
    case InitializerConf::kRandomUniformConf:
      return "random_uniform_initializer";
    case InitializerConf::kRandomUniformIntConf:
      return "random_uniform_initializer (integer)";
    case InitializerConf::kRandomNormalConf:
      return "random_normal_initializer";
    case InitializerConf::kTruncatedNormalConf:
      return "truncated_normal_initializer";
    case InitializerConf::kVarianceScalingConf:
      return "variance_scaling_initializer";
    case InitializerConf::TYPE_NOT_SET:
      break;
  }
  return "empty initializer";
}

absl::StatusOr<double> FanFor(const Shape& shape, oneflow::VarianceNorm mode,
                              absl::string_view data_format) {
  FLOWRT_ASSIGN_OR_RETURN(const int64_t fan_in, FanIn(shape));
  FLOWRT_ASSIGN_OR_RETURN(const int64_t fan_out, FanOut(shape, data_format));
  switch (mode) {
    case oneflow::kFanIn:
      return static_cast<double>(fan_in);
    case oneflow::kFanOut:
      return static_cast<double>(fan_out);
    case oneflow::kAverage:
      return (static_cast<double>(fan_in) + static_cast<double>(fan_out)) / 2;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown variance_norm ", mode));
}

absl::Status BadDtype(const InitializerConf& conf, DataType dtype, const Shape& shape,
                      absl::string_view supported) {
  return absl::InvalidArgumentError(
      absl::StrCat(ConfName(conf), " cannot fill a ", DataTypeName(dtype), " tensor of shape ",
                   shape.ToString(), " (supported: ", supported, ")"));
}

absl::Status CheckNormalParams(const InitializerConf& conf, double mean, double stddev) {
  if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev < 0) {
    return absl::InvalidArgumentError(absl::StrCat(ConfName(conf),
                                                   ": need a finite mean and a finite stddev >= 0, "
                                                   "got mean ",
                                                   mean, ", stddev ", stddev));
  }
  return absl::OkStatus();
}

// Product of dims[begin, end) with overflow detection.
absl::StatusOr<int64_t> DimProduct(const Shape& shape, int begin, int end) {
  int64_t product = 1;
  for (int i = begin; i < end; ++i) {
    if (shape[i] < 0 || __builtin_mul_overflow(product, shape[i], &product)) {
      return absl::InvalidArgumentError(absl::StrCat("fan of shape ", shape.ToString(),
                                                     " overflows int64 or has a negative dim"));
    }
  }
  return product;
}

// Parameters of a variance_scaling conf resolved against a shape.
struct VarianceScalingParams {
  oneflow::RandomDistribution distribution;
  double stddev;  // normal / truncated normal sigma (before truncation)
  double bound;   // uniform half-width
};

absl::StatusOr<VarianceScalingParams> ResolveVarianceScaling(
    const oneflow::VarianceScalingInitializerConf& vs, const Shape& shape) {
  const double scale = vs.scale();
  if (!std::isfinite(scale) || !(scale > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("variance_scaling_initializer: scale must be finite and > 0, got ", scale));
  }
  if (!oneflow::VarianceNorm_IsValid(vs.variance_norm())) {
    return absl::InvalidArgumentError(
        absl::StrCat("variance_scaling_initializer: unknown variance_norm ", vs.variance_norm()));
  }
  FLOWRT_ASSIGN_OR_RETURN(const double fan, FanFor(shape, vs.variance_norm(), vs.data_format()));
  VarianceScalingParams params{vs.distribution(), 0, 0};
  const double s = scale / fan;  // fan may be 0 for an empty tensor; nothing is drawn then
  switch (vs.distribution()) {
    case oneflow::kTruncatedNormal:
      params.stddev = std::sqrt(s) / kTruncatedNormalStdFactor;
      break;
    case oneflow::kRandomNormal:
      params.stddev = std::sqrt(s);
      break;
    case oneflow::kRandomUniform:
      params.bound = std::sqrt(3.0 * s);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("variance_scaling_initializer: unknown distribution ", vs.distribution()));
  }
  return params;
}

// ---- fillers: values in double, cast to T, flat order, one stream ----

template <typename T, typename Gen>
void FillEach(Tensor* tensor, Gen gen) {
  T* out = tensor->data<T>();
  const int64_t n = tensor->num_elements();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(gen());
}

template <typename T>
void FillTruncatedNormal(double mean, double stddev, RandomStream* rng, Tensor* tensor) {
  T* out = tensor->data<T>();
  const int64_t n = tensor->num_elements();
  if (stddev == 0) {  // the limit of the distribution; rejection at |x - mean| >= 0 never ends
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(mean);
    return;
  }
  const double limit = 2 * stddev;
  for (int64_t i = 0; i < n; ++i) {
    T value;
    do {
      value = static_cast<T>(mean + stddev * rng->Normal());
    } while (!(std::abs(static_cast<double>(value) - mean) < limit));
    out[i] = value;
  }
}

template <typename T>
absl::Status FillFloat(const InitializerConf& conf, uint64_t seed, Tensor* tensor) {
  RandomStream rng(seed);
  switch (conf.type_case()) {
    case InitializerConf::kConstantConf: {
      const double v = conf.constant_conf().value();
      FillEach<T>(tensor, [v] { return v; });
      break;
    }
    case InitializerConf::kConstantIntConf: {
      const double v = static_cast<double>(conf.constant_int_conf().value());
      FillEach<T>(tensor, [v] { return v; });
      break;
    }
    case InitializerConf::kRandomUniformConf: {
      const double lo = conf.random_uniform_conf().min();
      const double width = static_cast<double>(conf.random_uniform_conf().max()) - lo;
      FillEach<T>(tensor, [&] { return lo + width * rng.Uniform01(); });
      break;
    }
    case InitializerConf::kRandomNormalConf: {
      const double mean = conf.random_normal_conf().mean();
      const double stddev = conf.random_normal_conf().std();
      FillEach<T>(tensor, [&] { return mean + stddev * rng.Normal(); });
      break;
    }
    case InitializerConf::kTruncatedNormalConf:
      FillTruncatedNormal<T>(conf.truncated_normal_conf().mean(),
                             conf.truncated_normal_conf().std(), &rng, tensor);
      break;
    case InitializerConf::kVarianceScalingConf: {
      FLOWRT_ASSIGN_OR_RETURN(
          const VarianceScalingParams p,
          ResolveVarianceScaling(conf.variance_scaling_conf(), tensor->shape()));
      if (p.distribution == oneflow::kTruncatedNormal) {
        FillTruncatedNormal<T>(0.0, p.stddev, &rng, tensor);
      } else if (p.distribution == oneflow::kRandomNormal) {
        FillEach<T>(tensor, [&] { return p.stddev * rng.Normal(); });
      } else {
        const double lo = -p.bound, width = 2 * p.bound;
        FillEach<T>(tensor, [&] { return lo + width * rng.Uniform01(); });
      }
      break;
    }
    default:
      FLOWRT_CHECK(false) << "unvalidated conf " << ConfName(conf);
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status FillInt(const InitializerConf& conf, uint64_t seed, Tensor* tensor) {
  T* out = tensor->data<T>();
  const int64_t n = tensor->num_elements();
  switch (conf.type_case()) {
    case InitializerConf::kConstantConf: {
      const T v = static_cast<T>(std::trunc(static_cast<double>(conf.constant_conf().value())));
      for (int64_t i = 0; i < n; ++i) out[i] = v;
      break;
    }
    case InitializerConf::kConstantIntConf: {
      const T v = static_cast<T>(conf.constant_int_conf().value());
      for (int64_t i = 0; i < n; ++i) out[i] = v;
      break;
    }
    case InitializerConf::kRandomUniformIntConf: {
      RandomStream rng(seed);
      const int64_t lo = conf.random_uniform_int_conf().min();
      const uint64_t count =
          static_cast<uint64_t>(static_cast<int64_t>(conf.random_uniform_int_conf().max()) - lo);
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<T>(lo + static_cast<int64_t>(rng.UniformInt(count)));
      }
      break;
    }
    default:
      FLOWRT_CHECK(false) << "unvalidated conf " << ConfName(conf);
  }
  return absl::OkStatus();
}

}  // namespace

// ---- the value type ----

struct Initializer::Conf {
  InitializerConf proto;
};

Initializer::Initializer() = default;

Initializer InitializerProto::Wrap(InitializerConf conf) {
  Initializer initializer;
  initializer.conf_ = std::make_shared<const Initializer::Conf>(Initializer::Conf{std::move(conf)});
  return initializer;
}

const InitializerConf& InitializerProto::Get(const Initializer& initializer) {
  static const InitializerConf* const kEmpty = new InitializerConf();
  return initializer.conf_ != nullptr ? initializer.conf_->proto : *kEmpty;
}

// ---- constructors ----

Initializer constant_initializer(double value, DataType dtype) {
  InitializerConf conf;
  const double truncated = std::trunc(value);
  if (IsIntType(dtype) && std::isfinite(value) && truncated >= -0x1.0p63 && truncated < 0x1.0p63) {
    conf.mutable_constant_int_conf()->set_value(static_cast<int64_t>(truncated));
  } else {
    conf.mutable_constant_conf()->set_value(static_cast<float>(value));
  }
  return InitializerProto::Wrap(std::move(conf));
}

Initializer zeros_initializer(DataType dtype) { return constant_initializer(0, dtype); }
Initializer ones_initializer(DataType dtype) { return constant_initializer(1, dtype); }

absl::StatusOr<Initializer> random_uniform_initializer(double minval, double maxval,
                                                       DataType dtype) {
  constexpr absl::string_view kName = "random_uniform_initializer";
  if (!std::isfinite(minval) || !std::isfinite(maxval)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": minval and maxval must be finite, got ", minval, " and ", maxval));
  }
  if (minval > maxval) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": minval (", minval, ") must be <= maxval (", maxval, ")"));
  }
  InitializerConf conf;
  if (IsFloatType(dtype)) {
    conf.mutable_random_uniform_conf()->set_min(static_cast<float>(minval));
    conf.mutable_random_uniform_conf()->set_max(static_cast<float>(maxval));
    return InitializerProto::Wrap(std::move(conf));
  }
  if (IsIntType(dtype)) {
    constexpr double kInt32Min = std::numeric_limits<int32_t>::min();
    constexpr double kInt32Max = std::numeric_limits<int32_t>::max();
    if (minval != std::trunc(minval) || maxval != std::trunc(maxval) || minval < kInt32Min ||
        maxval > kInt32Max) {
      return absl::InvalidArgumentError(absl::StrCat(
          kName, ": for ", DataTypeName(dtype),
          " minval and maxval must be integers within int32, got ", minval, " and ", maxval));
    }
    if (!(minval < maxval)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kName, ": for ", DataTypeName(dtype), " the range [minval, maxval) = [",
                       minval, ", ", maxval, ") is empty (the integer maxval is exclusive)"));
    }
    conf.mutable_random_uniform_int_conf()->set_min(static_cast<int32_t>(minval));
    conf.mutable_random_uniform_int_conf()->set_max(static_cast<int32_t>(maxval));
    return InitializerProto::Wrap(std::move(conf));
  }
  return absl::InvalidArgumentError(absl::StrCat(kName, ": dtype ", DataTypeName(dtype),
                                                 " not supported (kFloat, kDouble, kInt8, "
                                                 "kInt32, kInt64)"));
}

Initializer random_normal_initializer(double mean, double stddev) {
  InitializerConf conf;
  conf.mutable_random_normal_conf()->set_mean(static_cast<float>(mean));
  conf.mutable_random_normal_conf()->set_std(static_cast<float>(stddev));
  return InitializerProto::Wrap(std::move(conf));
}

Initializer truncated_normal_initializer(double mean, double stddev) {
  InitializerConf conf;
  conf.mutable_truncated_normal_conf()->set_mean(static_cast<float>(mean));
  conf.mutable_truncated_normal_conf()->set_std(static_cast<float>(stddev));
  return InitializerProto::Wrap(std::move(conf));
}

Initializer truncated_normal(double stddev) {
  InitializerConf conf;
  conf.mutable_truncated_normal_conf()->set_std(static_cast<float>(stddev));
  return InitializerProto::Wrap(std::move(conf));
}

absl::StatusOr<Initializer> variance_scaling_initializer(double scale, absl::string_view mode,
                                                         absl::string_view distribution,
                                                         absl::string_view data_format) {
  constexpr absl::string_view kName = "variance_scaling_initializer";
  if (!std::isfinite(scale) || !(scale > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": scale must be finite and > 0, got ", scale));
  }
  FLOWRT_ASSIGN_OR_RETURN(const oneflow::VarianceNorm norm, ParseMode(kName, mode));
  oneflow::RandomDistribution dist;
  if (distribution == "truncated_normal") {
    dist = oneflow::kTruncatedNormal;
  } else if (distribution == "random_normal") {
    dist = oneflow::kRandomNormal;
  } else if (distribution == "random_uniform") {
    dist = oneflow::kRandomUniform;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        kName,
        ": distribution must be \"truncated_normal\", \"random_normal\" or \"random_uniform\", "
        "got \"",
        distribution, "\""));
  }
  auto format = NormalizeDataFormat(data_format);
  if (!format.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": ", format.status().message()));
  }
  InitializerConf conf;
  auto* vs = conf.mutable_variance_scaling_conf();
  vs->set_scale(static_cast<float>(scale));
  vs->set_variance_norm(norm);
  vs->set_distribution(dist);
  vs->set_data_format(*format);
  return InitializerProto::Wrap(std::move(conf));
}

absl::StatusOr<Initializer> glorot_uniform_initializer(absl::string_view data_format) {
  return variance_scaling_initializer(1.0, "fan_avg", "random_uniform", data_format);
}
absl::StatusOr<Initializer> xavier_uniform_initializer(absl::string_view data_format) {
  return glorot_uniform_initializer(data_format);
}
absl::StatusOr<Initializer> glorot_normal_initializer(absl::string_view data_format) {
  return variance_scaling_initializer(1.0, "fan_avg", "random_normal", data_format);
}
absl::StatusOr<Initializer> xavier_normal_initializer(absl::string_view data_format) {
  return glorot_normal_initializer(data_format);
}

absl::StatusOr<Initializer> kaiming_initializer(const Shape& shape, absl::string_view distribution,
                                                absl::string_view mode,
                                                absl::string_view nonlinearity,
                                                double negative_slope,
                                                absl::string_view data_format) {
  constexpr absl::string_view kName = "kaiming_initializer";
  if (shape.rank() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": shape must have rank >= 2 (a weight), got ", shape.ToString()));
  }
  const std::optional<int64_t> elements = shape.CheckedNumElements();
  if (!elements.has_value() || *elements <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": shape ", shape.ToString(), " must have at least one element"));
  }
  if (distribution != "random_normal" && distribution != "random_uniform") {
    return absl::InvalidArgumentError(absl::StrCat(
        kName, ": distribution must be \"random_normal\" or \"random_uniform\", got \"",
        distribution, "\""));
  }
  FLOWRT_ASSIGN_OR_RETURN(const oneflow::VarianceNorm norm, ParseMode(kName, mode));
  auto format = NormalizeDataFormat(data_format);
  if (!format.ok() || format->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kName, ": data_format must be \"NCHW\"-like or \"NHWC\"-like, got \"", data_format, "\""));
  }
  auto gain = KaimingGain(nonlinearity, negative_slope);
  if (!gain.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": ", gain.status().message()));
  }
  FLOWRT_ASSIGN_OR_RETURN(const double fan, FanFor(shape, norm, *format));
  const double stddev = *gain / std::sqrt(fan);
  InitializerConf conf;
  if (distribution == "random_normal") {
    conf.mutable_random_normal_conf()->set_mean(0);
    conf.mutable_random_normal_conf()->set_std(static_cast<float>(stddev));
  } else {
    const double bound = std::sqrt(3.0) * stddev;
    conf.mutable_random_uniform_conf()->set_min(static_cast<float>(-bound));
    conf.mutable_random_uniform_conf()->set_max(static_cast<float>(bound));
  }
  return InitializerProto::Wrap(std::move(conf));
}

// ---- fans and gains ----

absl::StatusOr<std::string> NormalizeDataFormat(absl::string_view data_format) {
  if (data_format.empty()) return std::string();
  if (data_format == "channels_first" || data_format == "channels_last") {
    return std::string(data_format);
  }
  if (absl::StartsWith(data_format, "NC")) return std::string("channels_first");
  if (absl::StartsWith(data_format, "N") && absl::EndsWith(data_format, "C")) {
    return std::string("channels_last");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("data_format must be \"\", \"NC...\" (e.g. \"NCHW\", channels first) or "
                   "\"N...C\" (e.g. \"NHWC\", channels last), got \"",
                   data_format, "\""));
}

absl::StatusOr<int64_t> FanIn(const Shape& shape) {
  if (shape.rank() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fans need a shape of rank >= 1, got ", shape.ToString()));
  }
  return DimProduct(shape, 1, shape.rank());
}

absl::StatusOr<int64_t> FanOut(const Shape& shape, absl::string_view data_format) {
  if (shape.rank() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fans need a shape of rank >= 1, got ", shape.ToString()));
  }
  FLOWRT_ASSIGN_OR_RETURN(const std::string format, NormalizeDataFormat(data_format));
  absl::StatusOr<int64_t> receptive = format == "channels_first"
                                          ? DimProduct(shape, 2, shape.rank())
                                          : DimProduct(shape, 1, std::max(shape.rank() - 1, 1));
  FLOWRT_RETURN_IF_ERROR(receptive.status());
  int64_t fan_out;
  if (shape[0] < 0 || __builtin_mul_overflow(shape[0], *receptive, &fan_out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fan_out of shape ", shape.ToString(), " overflows int64"));
  }
  return fan_out;
}

absl::StatusOr<double> ComputeFan(const Shape& shape, absl::string_view mode,
                                  absl::string_view data_format) {
  FLOWRT_ASSIGN_OR_RETURN(const oneflow::VarianceNorm norm, ParseMode("ComputeFan", mode));
  return FanFor(shape, norm, data_format);
}

absl::StatusOr<double> KaimingGain(absl::string_view nonlinearity, double negative_slope) {
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    if (!std::isfinite(negative_slope)) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative_slope must be finite, got ", negative_slope));
    }
    return std::sqrt(2.0 / (1 + negative_slope * negative_slope));
  }
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "selu") return 3.0 / 4;
  for (absl::string_view linear : {"linear", "sigmoid", "conv1d", "conv2d", "conv3d",
                                   "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}) {
    if (nonlinearity == linear) return 1.0;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "nonlinearity must be one of relu, leaky_relu, tanh, sigmoid, linear, selu, conv1d, "
      "conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d; got \"",
      nonlinearity, "\""));
}

// ---- filling ----

absl::string_view InitializerName(const Initializer& initializer) {
  return ConfName(InitializerProto::Get(initializer));
}

absl::Status ValidateInitializer(const Initializer& initializer, const Shape& shape,
                                 DataType dtype) {
  const InitializerConf& conf = InitializerProto::Get(initializer);
  constexpr absl::string_view kFloats = "kFloat, kDouble";
  constexpr absl::string_view kInts = "kInt8, kInt32, kInt64";
  constexpr absl::string_view kAll = "kFloat, kDouble, kInt8, kInt32, kInt64";
  switch (conf.type_case()) {
    case InitializerConf::kConstantConf: {
      if (!IsFloatType(dtype) && !IsIntType(dtype)) return BadDtype(conf, dtype, shape, kAll);
      const double v = conf.constant_conf().value();
      if (IsIntType(dtype) && !(std::isfinite(v) && FitsIntType(std::trunc(v), dtype))) {
        return absl::InvalidArgumentError(absl::StrCat("constant_initializer: value ", v,
                                                       " does not fit a ", DataTypeName(dtype),
                                                       " tensor of shape ", shape.ToString()));
      }
      return absl::OkStatus();
    }
    case InitializerConf::kConstantIntConf: {
      if (!IsFloatType(dtype) && !IsIntType(dtype)) return BadDtype(conf, dtype, shape, kAll);
      const int64_t v = conf.constant_int_conf().value();
      if (IsIntType(dtype) && !FitsIntType(v, dtype)) {
        return absl::InvalidArgumentError(absl::StrCat("constant_initializer: value ", v,
                                                       " does not fit a ", DataTypeName(dtype),
                                                       " tensor of shape ", shape.ToString()));
      }
      return absl::OkStatus();
    }
    case InitializerConf::kRandomUniformConf: {
      if (!IsFloatType(dtype)) {
        return absl::InvalidArgumentError(
            absl::StrCat("random_uniform_initializer (float) cannot fill a ", DataTypeName(dtype),
                         " tensor of shape ", shape.ToString(),
                         " (supported: kFloat, kDouble; create it with dtype=", DataTypeName(dtype),
                         " for an integer initializer)"));
      }
      const double lo = conf.random_uniform_conf().min(), hi = conf.random_uniform_conf().max();
      if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
        return absl::InvalidArgumentError(absl::StrCat(
            "random_uniform_initializer: need finite min <= max, got min ", lo, ", max ", hi));
      }
      return absl::OkStatus();
    }
    case InitializerConf::kRandomUniformIntConf: {
      if (!IsIntType(dtype)) return BadDtype(conf, dtype, shape, kInts);
      const int64_t lo = conf.random_uniform_int_conf().min();
      const int64_t hi = conf.random_uniform_int_conf().max();
      if (lo >= hi) {
        return absl::InvalidArgumentError(
            absl::StrCat("random_uniform_initializer (integer): the range [", lo, ", ", hi,
                         ") is empty (max is exclusive)"));
      }
      if (!FitsIntType(lo, dtype) || !FitsIntType(hi - 1, dtype)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "random_uniform_initializer (integer): the range [", lo, ", ", hi, ") does not fit a ",
            DataTypeName(dtype), " tensor of shape ", shape.ToString()));
      }
      return absl::OkStatus();
    }
    case InitializerConf::kRandomNormalConf:
      if (!IsFloatType(dtype)) return BadDtype(conf, dtype, shape, kFloats);
      return CheckNormalParams(conf, conf.random_normal_conf().mean(),
                               conf.random_normal_conf().std());
    case InitializerConf::kTruncatedNormalConf:
      if (!IsFloatType(dtype)) return BadDtype(conf, dtype, shape, kFloats);
      return CheckNormalParams(conf, conf.truncated_normal_conf().mean(),
                               conf.truncated_normal_conf().std());
    case InitializerConf::kVarianceScalingConf: {
      if (!IsFloatType(dtype)) return BadDtype(conf, dtype, shape, kFloats);
      auto params = ResolveVarianceScaling(conf.variance_scaling_conf(), shape);
      if (!params.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("variance_scaling_initializer for shape ",
                                                       shape.ToString(), ": ",
                                                       params.status().message()));
      }
      return absl::OkStatus();
    }
    case InitializerConf::TYPE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("no initializer set for a ", DataTypeName(dtype),
                                                 " tensor of shape ", shape.ToString()));
}

absl::Status InitializeTensor(const Initializer& initializer, uint64_t seed, Tensor* tensor) {
  FLOWRT_CHECK(tensor != nullptr && tensor->defined());
  FLOWRT_RETURN_IF_ERROR(ValidateInitializer(initializer, tensor->shape(), tensor->dtype()));
  const InitializerConf& conf = InitializerProto::Get(initializer);
  switch (tensor->dtype()) {
    case DataType::kFloat:
      return FillFloat<float>(conf, seed, tensor);
    case DataType::kDouble:
      return FillFloat<double>(conf, seed, tensor);
    case DataType::kInt8:
      return FillInt<int8_t>(conf, seed, tensor);
    case DataType::kInt32:
      return FillInt<int32_t>(conf, seed, tensor);
    case DataType::kInt64:
      return FillInt<int64_t>(conf, seed, tensor);
    default:
      break;
  }
  FLOWRT_CHECK(false) << "ValidateInitializer let " << DataTypeName(tensor->dtype()) << " through";
  return absl::InternalError("unreachable");
}

}  // namespace flow
