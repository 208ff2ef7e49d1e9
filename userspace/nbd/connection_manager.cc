#include "nbd/connection_manager.h"

#include <vector>

#include "nbd/connection.h"

namespace tandem::nbd {

void ConnectionManager::Add(std::shared_ptr<Connection> connection) {
  const uint64_t id = connection->id();
  connections_.emplace(id, std::move(connection));
}

void ConnectionManager::Remove(uint64_t id) {
  // Keep the connection alive until this call returns: Remove() is called
  // from inside the connection.
  std::shared_ptr<Connection> keep;
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  keep = std::move(it->second);
  connections_.erase(it);
  if (connections_.empty() && on_empty_) {
    auto cb = std::move(on_empty_);
    on_empty_ = nullptr;
    cb();
  }
}

size_t ConnectionManager::count(const std::string& name) const {
  size_t n = 0;
  for (const auto& [id, c] : connections_) {
    if (c->export_name() == name) ++n;
  }
  return n;
}

void ConnectionManager::StopAll() {
  std::vector<std::shared_ptr<Connection>> all;
  for (const auto& [id, c] : connections_) all.push_back(c);
  for (auto& c : all) c->Stop();
}

void ConnectionManager::StopExport(const std::string& name) {
  std::vector<std::shared_ptr<Connection>> some;
  for (const auto& [id, c] : connections_) {
    if (c->export_name() == name) some.push_back(c);
  }
  for (auto& c : some) c->Stop();
}

void ConnectionManager::OnEmpty(std::function<void()> callback) {
  if (connections_.empty()) {
    callback();
    return;
  }
  on_empty_ = std::move(callback);
}

}  // namespace tandem::nbd
