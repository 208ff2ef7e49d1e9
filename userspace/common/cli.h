#pragma once
// Command-line conventions shared by every Tandem program (docs/cli.md):
// --node NAME (default `uname -n`), --run-dir DIR (default /run/tandem),
// --help, --version; exit 0 on success, otherwise a one-line reason on stderr.

#include <CLI/CLI.hpp>
#include <string>

namespace tandem {

// Exit codes, in the spirit of drbdadm's.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;          // bad command line
inline constexpr int kExitFailed = 2;         // the operation was refused or failed
inline constexpr int kExitConfigInvalid = 10; // a configuration file is invalid

inline constexpr const char* kDefaultRunDir = "/run/tandem";

struct CommonOptions {
  std::string node;  // this node's name; filled from uname -n when not given
  std::string run_dir = kDefaultRunDir;
};

// The host name as `uname -n` prints it.
std::string LocalNodeName();

// Adds --node, --run-dir and --version to `app`.
void AddCommonOptions(CLI::App& app, CommonOptions* options);

// Parses argv. Returns -1 when the program should go on, otherwise the exit code
// to return right away (0 after --help/--version, kExitUsage after a one-line
// error on stderr). Fills options->node from uname when it was not given.
int ParseCommandLine(CLI::App& app, int argc, char** argv, CommonOptions* options);

}  // namespace tandem
