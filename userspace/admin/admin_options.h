#pragma once
// Options every tandemadm verb sees.

#include <string>

#include "common/cli.h"

namespace tandem::admin {

struct AdminOptions {
  CommonOptions common;
  std::string config_file;  // empty: the default path
  bool json = false;
};

}  // namespace tandem::admin
