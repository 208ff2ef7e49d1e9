#pragma once
// ExportRegistry: the exports a server offers, by name (export name =
// resource name). The handshake looks names up here; NBD_OPT_LIST lists them.
//
// Contract: names are non-empty, at most 4096 bytes, without NUL bytes (the
// NBD spec's rules for strings); Add() refuses anything else and duplicates.
// Backends are held by shared_ptr: a connection that selected an export keeps
// its backend alive after Remove(), until the connection ends.
// Thread-safety: the server's event loop thread only.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "nbd/backend.h"

namespace tandem::nbd {

class ExportRegistry {
 public:
  Status Add(const std::string& name, std::shared_ptr<Backend> backend);
  // False if there was no such export.
  bool Remove(const std::string& name);
  // nullptr when unknown.
  std::shared_ptr<Backend> Find(const std::string& name) const;
  // Sorted.
  std::vector<std::string> Names() const;
  size_t size() const { return exports_.size(); }

 private:
  std::map<std::string, std::shared_ptr<Backend>> exports_;
};

// Checks a would-be export name against the spec's string rules.
Status CheckExportName(const std::string& name);

}  // namespace tandem::nbd
