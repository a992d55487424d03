#include "common/redis/internal/sha1.h"

#include <string>

#include "common/redis/script.h"
#include "gtest/gtest.h"

namespace iplus::redis::internal {
namespace {

TEST(RedisSha1Test, KnownVectors) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Sha1Hex("The quick brown fox jumps over the lazy dog"),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
  EXPECT_EQ(Sha1Hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(RedisSha1Test, PaddingBoundaries) {
  // 55, 56 and 64 bytes straddle the one-or-two padding blocks decision.
  EXPECT_EQ(Sha1Hex(std::string(55, 'a')), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  EXPECT_EQ(Sha1Hex(std::string(56, 'a')), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  EXPECT_EQ(Sha1Hex(std::string(64, 'a')), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST(RedisSha1Test, BinaryInput) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(Sha1Hex(with_nul), Sha1Hex("a"));
  EXPECT_EQ(Sha1Hex(with_nul).size(), 40u);
}

TEST(RedisSha1Test, ScriptUsesSha1OfItsSource) {
  Script script("return 1");
  EXPECT_EQ(script.lua(), "return 1");
  EXPECT_EQ(script.sha(), Sha1Hex("return 1"));
  EXPECT_EQ(script.sha(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

}  // namespace
}  // namespace iplus::redis::internal
