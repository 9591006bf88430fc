// The project's one error type. Anything a user can cause (a missing file, a corrupt header, a
// wrong shape, a bad flag) throws cipherlora::Error with a one-line message that names what failed
// and why; the CLI catches it, prints it and exits non-zero. Internal invariants use assert().
//
//   if (dims.size() != 2) throw Error("tensor " + name + ": expected 2 dims, got " + ...);
//   require(n > 0, "data file " + path + " holds no examples");
#pragma once

#include <stdexcept>
#include <string>

namespace cipherlora {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error(what) when ok is false.
inline void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

}  // namespace cipherlora
