#include "checkpoint/crc32c.h"

#include <gtest/gtest.h>

#include <string>

#include "checkpoint/checksum_file.h"

namespace flow::checkpoint {
namespace {

TEST(Crc32cTest, MatchesStandardCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc32c(check.data(), check.size()), 0xE3069283u);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST(Crc32cTest, MatchesRfc3720Vectors) {
  // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and an ascending sequence.
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendEqualsOneShot) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  const uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t split : {0, 1, 63, 4096, 99999, 100000}) {
    uint32_t crc = Crc32cExtend(0, data.data(), split);
    crc = Crc32cExtend(crc, data.data() + split, data.size() - split);
    EXPECT_EQ(crc, whole) << "split at " << split;
  }
}

TEST(Crc32cSidecarTest, FormatsAndParses) {
  EXPECT_EQ(FormatChecksumFile({.crc32c = 0xe3069283, .size = 9}), "crc32c e3069283\nsize 9\n");
  EXPECT_EQ(FormatChecksumFile({.crc32c = 0x1, .size = 0}), "crc32c 00000001\nsize 0\n");
  auto parsed = ParseChecksumFile("crc32c E3069283\nsize 1234567890123\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->crc32c, 0xe3069283u);
  EXPECT_EQ(parsed->size, 1234567890123);
}

TEST(Crc32cSidecarTest, RefusesMalformedText) {
  for (const char* bad :
       {"", "crc32c e3069283\n", "crc32c 0xe30692\nsize 9\n", "crc32c e306928\nsize 9\n",
        "crc32c e3069283\nsize -9\n", "crc32c e3069283\nsize  9\n", "crc32c e3069283\nsize 9\nx\n",
        "crc32c zz069283\nsize 9\n", "crc32c e3069283\nsize 99999999999999999999\n",
        "size 9\ncrc32c e3069283\n"}) {
    EXPECT_FALSE(ParseChecksumFile(bad).ok()) << "accepted: " << bad;
  }
}

}  // namespace
}  // namespace flow::checkpoint
