#pragma once
// Helpers shared by Tandem's tests: scratch directories that clean up after
// themselves, and running a program to capture its exit code and output.

#include <string>
#include <vector>

namespace tandem::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when the
// object goes out of scope, even when the test fails.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name (creating parent directories) with `mode`;
  // returns the full path.
  std::string Write(const std::string& name, const std::string& contents, int mode = 0644) const;

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when the program did not exit normally
  std::string out;
  std::string err;
};

// Runs argv (argv[0] a path) with stdin from /dev/null, bounded by timeout_seconds
// (killed with SIGKILL after it), and captures stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds = 60);

// Whole file contents ("" if unreadable).
std::string ReadFileOrEmpty(const std::string& path);

// Path of a file in the source tree.
std::string SourcePath(const std::string& relative);

}  // namespace tandem::testing
