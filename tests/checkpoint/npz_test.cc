// checkpoint/npz.h: .npz round trips, interop with Debian's numpy (skipped without it), and
// hostile archives refused with clear errors.
#include "checkpoint/npz.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "checkpoint/snapshot_writer.h"
#include "graph/checkpoint.h"
#include "tests/checkpoint/checkpoint_test_util.h"

namespace flow::checkpoint {
namespace {

using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

Tensor Iota(Shape shape, DataType dtype) {
  Tensor t(std::move(shape), dtype);
  auto* bytes = static_cast<uint8_t*>(t.raw_data());
  for (int64_t i = 0; i < t.num_bytes(); ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  return t;
}

NamedTensors SampleArrays() {
  Tensor w(Shape({3, 4}), kFloat);
  for (int i = 0; i < 12; ++i) w.data<float>()[i] = 0.25f * i - 1.0f;
  Tensor step(Shape({1}), kInt64);
  step.data<int64_t>()[0] = 1234567890123;
  return {{"dense1-weight", w},
          {"System-Train-TrainStep-train_job", step},
          {"d", Iota(Shape({2, 3, 5}), kDouble)},
          {"h", Iota(Shape({7}), kFloat16)},
          {"i8", Iota(Shape({4, 1}), kInt8)},
          {"i32", Iota(Shape({2, 2}), kInt32)},
          {"u8", Iota(Shape({9}), kUInt8)},
          {"scalar", Iota(Shape({}), kFloat)},
          {"empty", Tensor(Shape({0, 3}), kFloat)}};
}

bool HaveNumpy() { return std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0; }

int RunPython(const std::string& script_path, const std::string& script) {
  WriteFile(script_path, script);
  return std::system(absl::StrCat("/usr/bin/python3 ", script_path).c_str());
}

TEST(NpzTest, NpyHeaderIsNumpysV1Padded) {
  Tensor t(Shape({10, 512}), kFloat);
  absl::StatusOr<std::string> npy = EncodeNpy(t);
  ASSERT_TRUE(npy.ok()) << npy.status();
  EXPECT_EQ(npy->substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len =
      static_cast<uint8_t>((*npy)[8]) | (static_cast<uint8_t>((*npy)[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  const std::string header = npy->substr(10, header_len);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 512), }", 0), 0u)
      << header;
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(npy->size(), 10 + header_len + 10 * 512 * 4);
}

TEST(NpzTest, SnapshotToNpzToSnapshotIsBitIdentical) {
  ScratchDir dir;
  const NamedTensors arrays = SampleArrays();
  ASSERT_TRUE(SaveSnapshot(dir.File("a"), arrays).ok());
  absl::StatusOr<Snapshot> a = get(dir.File("a"));
  ASSERT_TRUE(a.ok()) << a.status();
  NamedTensors from_snapshot;
  for (const auto& [name, var] : *a) from_snapshot.emplace_back(name, *var.Read());
  ASSERT_TRUE(WriteNpz(dir.File("a.npz"), from_snapshot).ok());
  absl::StatusOr<NamedTensors> back = ReadNpz(dir.File("a.npz"));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(SaveSnapshot(dir.File("b"), *back).ok());
  for (const auto& [name, tensor] : arrays) {
    EXPECT_EQ(ReadFile(dir.File("a/" + name + "/out")), ReadFile(dir.File("b/" + name + "/out")))
        << name;
    EXPECT_EQ(ReadFile(dir.File("a/" + name + "/meta")), ReadFile(dir.File("b/" + name + "/meta")))
        << name;
  }
  // Same bytes again: the archive itself is reproducible.
  ASSERT_TRUE(WriteNpz(dir.File("b.npz"), *back).ok());
  EXPECT_EQ(ReadFile(dir.File("a.npz")), ReadFile(dir.File("b.npz")));
}

TEST(NpzTest, NumpyReadsOurs) {
  if (!HaveNumpy()) GTEST_SKIP() << "Debian's numpy (/usr/bin/python3 -c 'import numpy') absent";
  ScratchDir dir;
  ASSERT_TRUE(WriteNpz(dir.File("ours.npz"), SampleArrays()).ok());
  const std::string script = absl::StrCat(R"(
import numpy as np, sys
z = np.load(')",
                                          dir.File("ours.npz"), R"(')
w = z['dense1-weight']
assert w.dtype == np.float32 and w.shape == (3, 4), (w.dtype, w.shape)
assert np.array_equal(w, (0.25 * np.arange(12) - 1.0).reshape(3, 4).astype(np.float32))
s = z['System-Train-TrainStep-train_job']
assert s.dtype == np.int64 and s.tolist() == [1234567890123]
assert z['d'].dtype == np.float64 and z['d'].shape == (2, 3, 5)
assert z['h'].dtype == np.float16 and z['i8'].dtype == np.int8 and z['i8'].shape == (4, 1)
assert z['i32'].dtype == np.int32 and z['u8'].dtype == np.uint8 and z['u8'].shape == (9,)
assert z['u8'].tolist() == [(i * 37 + 11) % 256 for i in range(9)]
assert z['scalar'].shape == () and z['empty'].shape == (0, 3)
assert sorted(z.files) == sorted(['dense1-weight', 'System-Train-TrainStep-train_job', 'd', 'h',
                                  'i8', 'i32', 'u8', 'scalar', 'empty'])
)");
  EXPECT_EQ(RunPython(dir.File("check.py"), script), 0);
}

TEST(NpzTest, WeImportNumpysSavezAndSavezCompressed) {
  if (!HaveNumpy()) GTEST_SKIP() << "Debian's numpy (/usr/bin/python3 -c 'import numpy') absent";
  ScratchDir dir;
  const std::string script = absl::StrCat(R"(
import numpy as np
rng = np.random.default_rng(7)
arrays = {
  'conv1-weight': rng.standard_normal((32, 1, 5, 5)).astype(np.float32),
  'dense2-bias': np.zeros(10, np.float32),
  'step': np.array([42], np.int64),
  'f64': rng.standard_normal((3, 2)),
  'f16': np.arange(6, dtype=np.float16).reshape(2, 3),
  'u8': np.arange(200, dtype=np.uint8),
  'i32': np.arange(-5, 7, dtype=np.int32).reshape(3, 4),
  'fortran': np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
}
np.savez(')",
                                          dir.File("plain.npz"), R"(', **arrays)
np.savez_compressed(')",
                                          dir.File("compressed.npz"), R"(', **arrays)
for name, a in arrays.items():
    np.ascontiguousarray(a).tofile(')",
                                          dir.path(), R"(/' + name + '.raw')
)");
  ASSERT_EQ(RunPython(dir.File("make.py"), script), 0);
  for (const char* file : {"plain.npz", "compressed.npz"}) {
    SCOPED_TRACE(file);
    absl::StatusOr<NamedTensors> arrays = ReadNpz(dir.File(file));
    ASSERT_TRUE(arrays.ok()) << arrays.status();
    ASSERT_EQ(arrays->size(), 8u);
    for (const auto& [name, tensor] : *arrays) {
      const std::string raw = ReadFile(dir.File(name + ".raw"));
      ASSERT_EQ(raw.size(), static_cast<size_t>(tensor.num_bytes())) << name;
      EXPECT_EQ(std::memcmp(raw.data(), tensor.raw_data(), raw.size()), 0) << name;
    }
    EXPECT_EQ((*arrays)[0].first, "conv1-weight");
    EXPECT_EQ((*arrays)[0].second.shape(), Shape({32, 1, 5, 5}));
    EXPECT_EQ((*arrays)[3].second.dtype(), kDouble);
    EXPECT_EQ((*arrays)[4].second.dtype(), kFloat16);
    EXPECT_EQ((*arrays)[7].second.shape(), Shape({2, 3, 4}));
    // And on into a snapshot that loads.
    const std::string snap = dir.File(std::string(file) + ".snap");
    ASSERT_TRUE(SaveSnapshot(snap, *arrays).ok());
    EXPECT_TRUE(VerifySnapshot(snap).ok());
  }
}

TEST(NpzTest, BoolAndBigEndianFromNumpyAreClearErrors) {
  if (!HaveNumpy()) GTEST_SKIP() << "Debian's numpy (/usr/bin/python3 -c 'import numpy') absent";
  ScratchDir dir;
  const std::string script = absl::StrCat("import numpy as np\nnp.savez('", dir.File("b.npz"),
                                          "', mask=np.ones(3, bool))\nnp.savez('",
                                          dir.File("be.npz"), "', w=np.ones(3, '>f4'))\n");
  ASSERT_EQ(RunPython(dir.File("make.py"), script), 0);
  absl::StatusOr<NamedTensors> b = ReadNpz(dir.File("b.npz"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("mask.npy"), std::string::npos) << b.status();
  EXPECT_NE(b.status().message().find("astype(np.uint8)"), std::string::npos) << b.status();
  absl::StatusOr<NamedTensors> be = ReadNpz(dir.File("be.npz"));
  ASSERT_FALSE(be.ok());
  EXPECT_NE(be.status().message().find("big-endian"), std::string::npos) << be.status();
}

TEST(NpzTest, CliExportThenImportRoundTrips) {
  const std::string flowrt = std::string(FLOWRT_BINARY_DIR) + "/tools/flowrt";
  if (::access(flowrt.c_str(), X_OK) != 0) GTEST_SKIP() << flowrt << " not built";
  ScratchDir dir;
  ASSERT_TRUE(SaveSnapshot(dir.File("a"), SampleArrays()).ok());
  ASSERT_EQ(std::system(absl::StrCat(flowrt, " ckpt export ", dir.File("a"),
                                     " --npz=", dir.File("a.npz"), " >/dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(std::system(absl::StrCat(flowrt, " ckpt import ", dir.File("a.npz"), " ", dir.File("b"),
                                     " >/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(std::system(absl::StrCat(flowrt, " ckpt diff ", dir.File("a"), " ", dir.File("b"),
                                     " >/dev/null")
                            .c_str()),
            0);
  // Importing over an existing snapshot is refused, naming it.
  EXPECT_NE(std::system(absl::StrCat(flowrt, " ckpt import ", dir.File("a.npz"), " ", dir.File("b"),
                                     " 2>/dev/null")
                            .c_str()),
            0);
}

// ---- hostile archives, built from our own valid bytes ----

std::string ValidNpz() {
  Tensor t(Shape({4, 4}), kFloat);
  for (int i = 0; i < 16; ++i) t.data<float>()[i] = static_cast<float>(i);
  absl::StatusOr<std::string> bytes = EncodeNpz({{"w", t}});
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

void ExpectRefused(const std::string& bytes, const std::string& needle) {
  absl::StatusOr<NamedTensors> arrays = DecodeNpz(bytes, "x.npz");
  ASSERT_FALSE(arrays.ok()) << "accepted; expected an error containing " << needle;
  EXPECT_NE(arrays.status().message().find(needle), std::string::npos) << arrays.status();
  EXPECT_NE(arrays.status().message().find("x.npz"), std::string::npos) << arrays.status();
}

void Set32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

size_t CentralOffset(const std::string& zip) {
  const size_t end = zip.size() - 22;
  return static_cast<uint8_t>(zip[end + 16]) | static_cast<uint8_t>(zip[end + 17]) << 8 |
         static_cast<uint8_t>(zip[end + 18]) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(zip[end + 19])) << 24;
}

TEST(NpzHostileTest, ValidBaselineDecodes) {
  absl::StatusOr<NamedTensors> arrays = DecodeNpz(ValidNpz(), "x.npz");
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_EQ((*arrays)[0].second.data<float>()[15], 15.0f);
}

TEST(NpzHostileTest, TruncatedArchive) {
  const std::string zip = ValidNpz();
  for (size_t keep : {size_t{0}, size_t{10}, zip.size() / 2, zip.size() - 1}) {
    SCOPED_TRACE(keep);
    absl::StatusOr<NamedTensors> arrays = DecodeNpz(zip.substr(0, keep), "x.npz");
    EXPECT_FALSE(arrays.ok());
  }
  ExpectRefused(zip.substr(0, zip.size() - 5), "end of central directory");
}

TEST(NpzHostileTest, BadCrc) {
  std::string zip = ValidNpz();
  zip[30 + 5 + 128 + 8] ^= 0x01;  // a data byte after local header, name "w.npy", npy header
  ExpectRefused(zip, "CRC32 mismatch");
}

TEST(NpzHostileTest, HugeDeclaredSizes) {
  std::string zip = ValidNpz();
  const size_t cd = CentralOffset(zip);
  std::string stored_lie = zip;
  Set32(stored_lie, cd + 20, 0x7fffffff);  // compressed size beyond the file
  Set32(stored_lie, cd + 24, 0x7fffffff);
  ExpectRefused(stored_lie, "beyond the end");
  std::string deflate_lie = zip;
  deflate_lie[cd + 10] = 8;  // method deflate, 0x7fffffff bytes from a few hundred
  Set32(deflate_lie, cd + 24, 0x7fffffff);
  ExpectRefused(deflate_lie, "maximum ratio");
  std::string zip64 = zip;
  Set32(zip64, cd + 24, 0xffffffff);
  ExpectRefused(zip64, "ZIP64");
}

TEST(NpzHostileTest, BadNpyHeaders) {
  auto with_header = [](const std::string& dict, size_t data_bytes) {
    std::string npy("\x93NUMPY\x01\x00", 8);
    npy.push_back(static_cast<char>(dict.size() & 0xff));
    npy.push_back(static_cast<char>(dict.size() >> 8));
    return npy + dict + std::string(data_bytes, '\0');
  };
  struct Case {
    std::string npy, needle;
  };
  const Case cases[] = {
      {"not numpy at all", "bad magic"},
      {with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }\n", 63),
       "the data has 63"},
      {with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
                   "4294967296), }\n",
                   0),
       "too many"},
      {with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", 8),
       "not supported"},
      {with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", 4),
       "structured"},
      {with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }\n", 4),
       "fortran_order"},
      {with_header("{'descr': '<f4', 'shape': (-1,), 'fortran_order': False}\n", 4),
       "bad dimension"},
      {with_header("{'descr': '<f4', 'fortran_order': False}\n", 4), "needs"},
      {with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4).substr(0, 20),
       "exceeds the file"},
      {with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '__class__': 1}", 4),
       "unexpected key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.needle);
    absl::StatusOr<Tensor> t = DecodeNpy(c.npy, "x.npz: entry \"w.npy\"");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status();
    EXPECT_NE(t.status().message().find("w.npy"), std::string::npos) << t.status();
  }
}

TEST(NpzHostileTest, FortranOrderIsTransposed) {
  std::string npy("\x93NUMPY\x01\x00", 8);
  const std::string dict = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }\n";
  npy.push_back(static_cast<char>(dict.size()));
  npy.push_back(0);
  npy += dict;
  const int32_t fortran[] = {0, 3, 1, 4, 2, 5};  // column-major [[0,1,2],[3,4,5]]
  npy.append(reinterpret_cast<const char*>(fortran), sizeof(fortran));
  absl::StatusOr<Tensor> t = DecodeNpy(npy, "f");
  ASSERT_TRUE(t.ok()) << t.status();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t->data<int32_t>()[i], i);
}

TEST(NpzHostileTest, UnsafeAndDuplicateNames) {
  Tensor t(Shape({1}), kFloat);
  EXPECT_FALSE(EncodeNpz({{"../evil", t}}).ok());
  EXPECT_FALSE(EncodeNpz({{"a", t}, {"A", t}}).ok());
  // Rename the entry in an otherwise valid archive (same length, both headers).
  std::string zip = ValidNpz();
  const size_t cd = CentralOffset(zip);
  zip.replace(30, 5, "/.npy");
  zip.replace(cd + 46, 5, "/.npy");
  ExpectRefused(zip, "/.npy");
  std::string no_npy = ValidNpz();
  no_npy.replace(30, 5, "w.txt");
  no_npy.replace(cd + 46, 5, "w.txt");
  ExpectRefused(no_npy, "not a .npy entry");
}

// Plain bitwise CRC-32 (ZIP's polynomial), so the test does not link zlib.
uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(NpzHostileTest, CorruptDeflate) {
  // A raw deflate stream of one stored block (BFINAL=1, BTYPE=00, LEN, ~LEN, bytes), inside an
  // archive whose entry says method 8.
  const std::string npy = *EncodeNpy(Tensor(Shape({8}), kFloat));
  std::string compressed(1, '\x01');
  compressed.push_back(static_cast<char>(npy.size() & 0xff));
  compressed.push_back(static_cast<char>(npy.size() >> 8));
  compressed.push_back(static_cast<char>(~npy.size() & 0xff));
  compressed.push_back(static_cast<char>((~npy.size() >> 8) & 0xff));
  compressed += npy;
  auto archive = [&](const std::string& data, uint32_t declared) {
    std::string zip = ValidNpz();
    const size_t cd = CentralOffset(zip);
    std::string central = zip.substr(cd, zip.size() - 22 - cd);
    std::string local = zip.substr(0, 35);
    local[8] = 8;
    central[10] = 8;
    const uint32_t crc = Crc32(npy);
    Set32(local, 14, crc);
    Set32(local, 18, data.size());
    Set32(local, 22, declared);
    Set32(central, 16, crc);
    Set32(central, 20, data.size());
    Set32(central, 24, declared);
    std::string end = zip.substr(zip.size() - 22);
    Set32(end, 12, central.size());
    Set32(end, 16, local.size() + data.size());
    return local + data + central + end;
  };
  absl::StatusOr<NamedTensors> ok = DecodeNpz(archive(compressed, npy.size()), "x.npz");
  ASSERT_TRUE(ok.ok()) << ok.status();
  std::string garbage = compressed;
  garbage[0] = '\x07';  // BTYPE=11: reserved, invalid
  ExpectRefused(archive(garbage, npy.size()), "corrupt deflate");
  ExpectRefused(archive(compressed.substr(0, compressed.size() - 9), npy.size()), "deflate");
  ExpectRefused(archive(compressed, npy.size() - 1), "more than its declared");
  ExpectRefused(archive(compressed, npy.size() + 1), "declared");
}

}  // namespace
}  // namespace flow::checkpoint
