// OneFlow's initializers (flow.*_initializer in Python) as C++ free functions returning a
// flow::Initializer, and InitializeTensor, which fills a tensor from one and a seed.
//
//   flow::Initializer init = flow::truncated_normal(0.1);                 // doc scripts' kernels
//   FLOWRT_ASSIGN_OR_RETURN(flow::Initializer conv_init, flow::xavier_uniform_initializer("NCHW"));
//   flow::Tensor w(flow::Shape({512, 784}), flow::kFloat);
//   FLOWRT_RETURN_IF_ERROR(flow::InitializeTensor(init, seed, &w));
//
// Names and defaults follow OneFlow's Python (users port scripts); maths follows OneFlow
// (initializer_util.py / kernel_util.cpp, see ONEFLOW_REFERENCE.md §3), with two deliberate fixes:
// fan_out of channels_first (OIHW) weights is shape[0] * prod(shape[2:]) (OneFlow's Python path
// compared against a misspelt "channel_first" and used shape[0] * prod(shape[1:-1])), and
// truncated_normal with stddev 0 fills the mean (OneFlow would reject-and-redraw forever).
//
// Where errors are reported: a function returns absl::StatusOr exactly where OneFlow's Python
// asserts at construction (bad mode / distribution / nonlinearity / data_format string,
// minval > maxval, kaiming's shape) — those mistakes cannot even be written into the conf's enums.
// The others (constant, random_normal, truncated_normal) return the initializer directly, as in
// the doc scripts; what can still be wrong there (a negative stddev, a constant that does not fit
// the tensor's dtype) is reported by ValidateInitializer / InitializeTensor, which check every
// initializer — also ones read back from a job — against the tensor's shape and dtype. get_variable
// should call ValidateInitializer when the job is built so the error surfaces there.
//
// Seeding is the caller's business: the session passes
// CombineSeeds(session_seed, StableHash64(variable_name)), or the variable's random_seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/dtype.h"
#include "runtime/shape.h"
#include "runtime/tensor.h"

namespace flow {

// What one of the functions below returned: a small immutable value, cheap to copy. Inside it is
// OneFlow's InitializerConf (what the job IR stores); graph/initializer_proto.h, which is not
// part of the installed API, converts.
class Initializer {
 public:
  // No initializer: get_variable refuses it and names the variable.
  Initializer();

 private:
  friend struct InitializerProto;
  struct Conf;
  std::shared_ptr<const Conf> conf_;
};

// ---- constructors (OneFlow's Python names and defaults) ----

// Every element = value. Float dtypes give constant_conf (value stored as float32, as OneFlow);
// kInt8/kInt32/kInt64 give constant_int_conf with value truncated toward zero (Python's int()).
// A value that is not finite or does not fit int64 stays a float constant_conf, which
// InitializeTensor then rejects for an integer tensor with a message naming the value.
Initializer constant_initializer(double value = 0, DataType dtype = kFloat);
Initializer zeros_initializer(DataType dtype = kFloat);
Initializer ones_initializer(DataType dtype = kFloat);

// Float dtypes (kFloat, kDouble): U[minval, maxval] — drawn as minval + (maxval - minval) * u with
// u in [0, 1) in double and rounded to the dtype, so maxval is reachable only through that
// rounding, as in OneFlow. Integer dtypes (kInt8, kInt32, kInt64): random_uniform_int_conf,
// uniform over [minval, maxval) (max exclusive, OneFlow's default new path / numpy
// rng.integers); requires minval < maxval, both integral and within int32 (the proto's fields).
// Errors: minval > maxval, non-finite bounds, another dtype.
absl::StatusOr<Initializer> random_uniform_initializer(double minval = 0, double maxval = 1,
                                                       DataType dtype = kFloat);

// N(mean, stddev^2). stddev < 0 is reported by InitializeTensor.
Initializer random_normal_initializer(double mean = 0, double stddev = 1);

// N(mean, stddev^2) with every draw |x - mean| >= 2 stddev rejected and redrawn (so the result's
// std is 0.8796 stddev). The test is applied to the value after rounding to the tensor's dtype,
// so |x - mean| < 2 stddev holds for the stored values too.
Initializer truncated_normal_initializer(double mean = 0, double stddev = 1);

// flow.truncated_normal(stddev) — OneFlow's deprecated alias used by the doc scripts: sets only
// the std; mean is the proto default 0.
Initializer truncated_normal(double stddev = 1);

// variance_scaling(1, "fan_avg", "random_uniform", data_format): U(+-sqrt(6 / (fan_in+fan_out))).
absl::StatusOr<Initializer> glorot_uniform_initializer(absl::string_view data_format = "");
absl::StatusOr<Initializer> xavier_uniform_initializer(absl::string_view data_format = "");
// variance_scaling(1, "fan_avg", "random_normal", data_format): N(0, 2 / (fan_in + fan_out)),
// not truncated.
absl::StatusOr<Initializer> glorot_normal_initializer(absl::string_view data_format = "");
absl::StatusOr<Initializer> xavier_normal_initializer(absl::string_view data_format = "");

// s = scale / fan, fan per `mode` ("fan_in" | "fan_out" | "fan_avg", see FanIn/FanOut);
// distribution "truncated_normal": sigma = sqrt(s) / 0.87962566103423978 truncated at 2 sigma
// (so the result's std is sqrt(s)); "random_normal": N(0, s); "random_uniform":
// U(-sqrt(3 s), +sqrt(3 s)). data_format: "" (dense / unspecified), anything starting with "NC"
// (channels_first, e.g. "NCHW" for OIHW weights), anything starting with "N" and ending with "C"
// (channels_last, e.g. "NHWC"); stored in the conf as "", "channels_first", "channels_last".
// scale must be > 0.
absl::StatusOr<Initializer> variance_scaling_initializer(
    double scale = 1, absl::string_view mode = "fan_in",
    absl::string_view distribution = "truncated_normal", absl::string_view data_format = "");

// He/Kaiming, resolved now (as OneFlow does in Python) to random_normal_conf(0, std) or
// random_uniform_conf(-sqrt(3) std, +sqrt(3) std), std = gain / sqrt(fan).
// distribution: "random_normal" | "random_uniform"; mode: "fan_in" | "fan_out" | "fan_avg";
// nonlinearity (KaimingGain): "relu", "leaky_relu" (uses negative_slope), "tanh", "sigmoid",
// "linear", the conv names ("conv1d", ..., "conv_transpose3d"), "selu";
// data_format: "NCHW"-like or "NHWC"-like. shape must have rank >= 2 and > 0 elements.
absl::StatusOr<Initializer> kaiming_initializer(const Shape& shape,
                                                absl::string_view distribution = "random_normal",
                                                absl::string_view mode = "fan_in",
                                                absl::string_view nonlinearity = "leaky_relu",
                                                double negative_slope = 0,
                                                absl::string_view data_format = "NCHW");

// ---- fans and gains (exposed for tests and for layers that want to report them) ----

// prod(shape[1:]) (1 for rank 1). Error for rank 0 or int64 overflow.
absl::StatusOr<int64_t> FanIn(const Shape& shape);
// channels_first ("NC..."/"channels_first"): shape[0] * prod(shape[2:]);
// channels_last ("N...C"/"channels_last") and "": shape[0] * prod(shape[1:-1]) — for rank <= 2
// that is shape[0]; for "" at rank >= 3 this is OneFlow's Python behaviour (it treats the weight
// as channels-last). Error for rank 0, an unknown data_format, or overflow.
absl::StatusOr<int64_t> FanOut(const Shape& shape, absl::string_view data_format);
// fan_in, fan_out or (fan_in + fan_out) / 2 for mode "fan_in" / "fan_out" / "fan_avg".
absl::StatusOr<double> ComputeFan(const Shape& shape, absl::string_view mode,
                                  absl::string_view data_format);
// sqrt(2) relu; sqrt(2 / (1 + slope^2)) leaky_relu; 5/3 tanh; 1 sigmoid, linear and conv names;
// 3/4 selu. Error for anything else.
absl::StatusOr<double> KaimingGain(absl::string_view nonlinearity, double negative_slope = 0);

// "" / "channels_first" / "channels_last" for the data_format spellings above; error otherwise.
absl::StatusOr<std::string> NormalizeDataFormat(absl::string_view data_format);

// ---- filling ----

// The OneFlow Python name of the initializer ("random_normal_initializer", ...), for messages;
// "empty initializer" for Initializer().
absl::string_view InitializerName(const Initializer& initializer);

// Everything InitializeTensor would reject, without filling: Initializer(), a dtype the initializer
// cannot fill (supported: constant / constant_int on kFloat, kDouble, kInt8, kInt32, kInt64;
// random_uniform_int on the three int dtypes; all other initializers on kFloat, kDouble),
// bad parameters (negative or non-finite std, min > max, non-positive scale, constants that do
// not fit the dtype), and fans that cannot be computed for the shape. Messages name the
// initializer, the dtype and the shape.
absl::Status ValidateInitializer(const Initializer& initializer, const Shape& shape,
                                 DataType dtype);

// Fills `tensor` (shape and dtype already set) from `initializer`, drawing sequentially in flat (C)
// index order from one RandomStream(seed): values are computed in double and then cast to the
// dtype (integers for random_uniform_int come from RandomStream::UniformInt, exactly uniform).
// Same (initializer, seed, shape, dtype) => bit-identical tensor on every platform.
absl::Status InitializeTensor(const Initializer& initializer, uint64_t seed, Tensor* tensor);

}  // namespace flow
