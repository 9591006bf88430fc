// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and pipes stay
// clean). Shows done/total, rate, and an optional status text such as the running loss.
//
//   Progress bar("eval", n_examples);
//   bar.update(done, "loss 2.31");
//   bar.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cipherlora {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  void update(int64_t done, const std::string& status = "");
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace cipherlora
