#include "he/security.h"

#include <string>

#include "common/error.h"

namespace cipherlora {

int max_log_q_128(int log_n) {
  switch (log_n) {
    case 10:
      return 27;
    case 11:
      return 54;
    case 12:
      return 109;
    case 13:
      return 218;
    case 14:
      return 438;
    case 15:
      return 881;
    default:
      return 0;
  }
}

void check_security(int log_n, int log_q, double sigma) {
  const int max_q = max_log_q_128(log_n);
  require(max_q > 0, "RLWE parameters: ring degree 2^" + std::to_string(log_n) +
                         " is not in the 128-bit security table (2^10 .. 2^15)");
  require(log_q >= 1 && log_q <= max_q, "RLWE parameters: log2 q = " + std::to_string(log_q) +
                                            " at N = 2^" + std::to_string(log_n) +
                                            " is outside the 128-bit security table (max " +
                                            std::to_string(max_q) + ")");
  require(sigma >= kStandardSigma, "RLWE parameters: error width sigma = " + std::to_string(sigma) +
                                       " is below the standard's 3.2");
}

}  // namespace cipherlora
