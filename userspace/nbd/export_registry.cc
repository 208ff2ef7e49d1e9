#include "nbd/export_registry.h"

#include "nbd/wire.h"

namespace tandem::nbd {

Status CheckExportName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("NBD export name is empty");
  if (name.size() > kMaxStringLength) {
    return Status::InvalidArgument("NBD export name is " + std::to_string(name.size()) +
                                   " bytes long (limit " + std::to_string(kMaxStringLength) + ")");
  }
  if (name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("NBD export name contains a NUL byte");
  }
  return Status::Ok();
}

Status ExportRegistry::Add(const std::string& name, std::shared_ptr<Backend> backend) {
  TANDEM_RETURN_IF_ERROR(CheckExportName(name));
  if (!backend) return Status::InvalidArgument("export " + name + ": no backend");
  if (!exports_.emplace(name, std::move(backend)).second) {
    return Status::InvalidArgument("export " + name + " already exists");
  }
  return Status::Ok();
}

bool ExportRegistry::Remove(const std::string& name) { return exports_.erase(name) > 0; }

std::shared_ptr<Backend> ExportRegistry::Find(const std::string& name) const {
  auto it = exports_.find(name);
  return it == exports_.end() ? nullptr : it->second;
}

std::vector<std::string> ExportRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(exports_.size());
  for (const auto& [name, backend] : exports_) names.push_back(name);
  return names;
}

}  // namespace tandem::nbd
