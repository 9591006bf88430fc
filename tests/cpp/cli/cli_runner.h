// Runs the `cipherlora` program ($CIPHERLORA_BIN, set by ctest; else the binary next to the test)
// as a child process for the CLI tests: stdin from /dev/null, stdout and stderr captured.
//
//   RunResult r = run({"info", "--model", "tiny.gguf"});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//   expect_failure({"eval", "--bogus"}, {"--bogus"});  // non-zero, one stderr line, no stdout
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "formats/test_util.h"

extern char** environ;

namespace cipherlora::test {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string cipherlora_binary() {
  if (const char* env = std::getenv("CIPHERLORA_BIN"); env != nullptr && *env != '\0') return env;
  // Run by hand: the program sits next to the test in the build folder.
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cipherlora").string();
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the program with args, stdin from /dev/null, and returns its exit code and output.
inline RunResult run(const std::vector<std::string>& args) {
  static TempDir out_dir;
  static int counter = 0;
  const std::string out_path = out_dir.file("out" + std::to_string(counter));
  const std::string err_path = out_dir.file("err" + std::to_string(counter++));
  const std::string bin = cipherlora_binary();
  std::vector<std::string> storage = {bin};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RunResult r;
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << bin << ": " << std::strerror(rc);
    return r;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text_file(out_path);
  r.err = read_text_file(err_path);
  return r;
}

// A failed run: non-zero exit, nothing on stdout, one line on stderr holding every part.
inline void expect_failure(const std::vector<std::string>& args,
                           const std::vector<std::string>& parts) {
  std::string cmd = "cipherlora";
  for (const std::string& a : args) cmd += " " + a;
  SCOPED_TRACE(cmd);
  const RunResult r = run(args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr: " << r.err;
  for (const std::string& part : parts)
    EXPECT_NE(r.err.find(part), std::string::npos) << "stderr \"" << r.err << "\" lacks " << part;
}

}  // namespace cipherlora::test
