#pragma once
// DRBD 8.4's state model (docs/states.md): connection state, roles, disk
// states, the refusal codes and texts, and StateMachine, the pure class that
// validates every requested change. No sockets, no disk: unit-tested
// transition by transition.
// Thread-safety: a plain value, owned by the resource's event loop.

#include <cstdint>
#include <optional>
#include <string>

namespace tandem::replication {

enum class ConnState : uint8_t {
  kStandAlone, kDisconnecting, kUnconnected, kTimeout, kBrokenPipe, kNetworkFailure,
  kProtocolError, kTearDown, kWFConnection, kWFReportParams, kConnected, kStartingSyncS,
  kStartingSyncT, kWFBitMapS, kWFBitMapT, kWFSyncUUID, kSyncSource, kSyncTarget,
  kPausedSyncS, kPausedSyncT, kVerifyS, kVerifyT,
};
enum class Role : uint8_t { kUnknown = 0, kPrimary = 1, kSecondary = 2 };
enum class DiskState : uint8_t {
  kDiskless = 0, kAttaching = 1, kFailed = 2, kNegotiating = 3, kInconsistent = 4,
  kOutdated = 5, kDUnknown = 6, kConsistent = 7, kUpToDate = 8,
};

const char* ConnStateName(ConnState s);
const char* RoleName(Role r);
const char* DiskStateName(DiskState d);

// Connected or any state that implies a live link (sync, verify).
bool IsConnected(ConnState s);
bool IsSyncing(ConnState s);  // Sync*/PausedSync*
bool IsVerifying(ConnState s);

// A refused state change: DRBD's code and text.
struct Refusal {
  int code;
  const char* text;
  // "State change failed: (-2) Need access to UpToDate data"
  std::string Message() const;
  bool operator==(const Refusal& o) const { return code == o.code; }
};

namespace refusal {
inline constexpr Refusal kTwoPrimaries{-1, "Multiple primaries not allowed by config"};
inline constexpr Refusal kNoUpToDateDisk{-2, "Need access to UpToDate data"};
inline constexpr Refusal kConnectedOutdates{-6, "Refusing to be Outdated while Connected"};
inline constexpr Refusal kResyncRunning{-8, "Can not start OV/resync since it is already active"};
inline constexpr Refusal kAlreadyStandAlone{-9, "Can not disconnect a StandAlone device"};
inline constexpr Refusal kRefusedByPeer{-10, "State change was refused by peer node"};
inline constexpr Refusal kIsDiskless{-11, "Device is diskless, the requested operation requires a disk"};
inline constexpr Refusal kDeviceInUse{-12, "Device is held open by someone"};
inline constexpr Refusal kNeedConnection{-15, "Need a connection to start verify or resync"};
inline constexpr Refusal kLowerThanOutdated{-16, "Disk state is lower than outdated"};
inline constexpr Refusal kInTransientState{-18, "In transient state, retry after next state change"};
inline constexpr Refusal kNoVerifyAlg{-14, "Need a verify algorithm to start online verify"};
}  // namespace refusal

struct StateSnapshot {
  Role role = Role::kSecondary;
  Role peer_role = Role::kUnknown;
  DiskState disk = DiskState::kDiskless;
  DiskState peer_disk = DiskState::kDUnknown;
  ConnState conn = ConnState::kStandAlone;
  bool user_paused = false;  // pause-sync here
  bool peer_paused = false;  // pause-sync at the peer
  bool operator==(const StateSnapshot&) const = default;
};

// "Primary/Secondary", "UpToDate/DUnknown".
std::string RolePair(const StateSnapshot& s);
std::string DiskPair(const StateSnapshot& s);

struct StatePolicy {
  bool allow_two_primaries = false;
  bool fencing_dont_care = true;  // `fencing dont-care`: promote a Consistent disk alone
};

class StateMachine {
 public:
  explicit StateMachine(StatePolicy policy = {}) : policy_(policy) {}
  const StateSnapshot& state() const { return s_; }
  void set_policy(StatePolicy p) { policy_ = p; }

  // Checks, and applies when allowed. `device_open`: NBD clients connected.
  std::optional<Refusal> Promote(bool force);
  std::optional<Refusal> Demote(bool device_open);
  std::optional<Refusal> Outdate();
  std::optional<Refusal> Disconnect();  // to StandAlone
  std::optional<Refusal> CheckInvalidate() const;
  std::optional<Refusal> CheckInvalidateRemote() const;
  std::optional<Refusal> CheckNewCurrentUuid() const;

  // Events (always succeed).
  void Attached(DiskState from_meta);
  void Detached();
  void StartConnecting();  // -> WFConnection
  void LinkUp();           // -> WFReportParams
  // Handshake finished; `conn` is Connected or a resync/bitmap state.
  void Established(ConnState conn, Role peer_role, DiskState peer_disk);
  // The link broke for `why` (Timeout, BrokenPipe, ...): peer unknown, back to
  // WFConnection unless `stand_alone`. The local disk state is kept (as DRBD).
  void LinkDown(ConnState why, bool stand_alone);
  void PeerChanged(Role peer_role, DiskState peer_disk);
  void SetConn(ConnState conn) { s_.conn = conn; }
  void SetDisk(DiskState disk) { s_.disk = disk; }
  void SetRole(Role role) { s_.role = role; }
  void SetPaused(bool user, bool peer) {
    s_.user_paused = user;
    s_.peer_paused = peer;
  }

  // The rule set every change passes (exposed for tests and the peer's checks).
  static std::optional<Refusal> Validate(const StateSnapshot& from, const StateSnapshot& to,
                                         const StatePolicy& policy, bool device_open);

 private:
  StatePolicy policy_;
  StateSnapshot s_;
};

}  // namespace tandem::replication
