#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace cipherlora {

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_ || total_ <= 0) return;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int width = 30;
  const int filled = static_cast<int>(width * done / total_);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  const double eta = done > 0 ? secs * (total_ - done) / done : 0.0;
  std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.0fs left  %s\033[K", label_.c_str(), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), eta, status.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace cipherlora
