#include "he/security.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cipherlora {
namespace {

TEST(Security, TableMatchesTheStandard) {
  // HomomorphicEncryption.org standard, Table 1, ternary secret, 128-bit classical.
  EXPECT_EQ(max_log_q_128(10), 27);
  EXPECT_EQ(max_log_q_128(11), 54);
  EXPECT_EQ(max_log_q_128(12), 109);
  EXPECT_EQ(max_log_q_128(13), 218);
  EXPECT_EQ(max_log_q_128(14), 438);
  EXPECT_EQ(max_log_q_128(15), 881);
  EXPECT_EQ(max_log_q_128(9), 0);
  EXPECT_EQ(max_log_q_128(16), 0);
}

TEST(Security, AcceptsParametersInsideTheTable) {
  EXPECT_NO_THROW(check_security(11, 54, 3.2));
  EXPECT_NO_THROW(check_security(12, 64, 3.2));
  EXPECT_NO_THROW(check_security(10, 27, 4.0));
}

TEST(Security, RefusesEverythingOutside) {
  EXPECT_THROW(check_security(11, 55, 3.2), Error);  // q too large for N
  EXPECT_THROW(check_security(10, 28, 3.2), Error);
  EXPECT_THROW(check_security(9, 20, 3.2), Error);  // N not in the table
  EXPECT_THROW(check_security(11, 0, 3.2), Error);
  EXPECT_THROW(check_security(11, 40, 2.0), Error);  // noise narrower than assumed
  try {
    check_security(11, 60, 3.2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max 54"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cipherlora
