#pragma once
// ConnectionManager: the set of live NBD connections of one server. It owns
// them (a connection removes itself when it has ended), counts them, and
// disconnects them - all of them, or those using one export ("disconnect
// clients" on a forced demotion).
//
// Contract: StopAll()/StopExport() hard-disconnect the connections: they stop
// reading, close their sockets, let the requests already handed to the
// backend complete (replies are dropped), then Close() their backend and
// disappear from count(). A caller that needs them gone runs the loop until
// count(name) == 0 (or the backend's opener count drops).
// Thread-safety: the event loop's thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tandem::nbd {

class Connection;

class ConnectionManager {
 public:
  ConnectionManager() = default;
  ConnectionManager(const ConnectionManager&) = delete;
  ConnectionManager& operator=(const ConnectionManager&) = delete;

  void Add(std::shared_ptr<Connection> connection);
  void Remove(uint64_t id);
  // Every connection, handshaking or transmitting.
  size_t count() const { return connections_.size(); }
  // Connections in transmission with export `name`.
  size_t count(const std::string& name) const;
  void StopAll();
  void StopExport(const std::string& name);
  // Called (once per registration) whenever count() drops to zero.
  void OnEmpty(std::function<void()> callback);

 private:
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::function<void()> on_empty_;
};

}  // namespace tandem::nbd
