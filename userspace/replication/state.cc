#include "replication/state.h"

namespace tandem::replication {

const char* ConnStateName(ConnState s) {
  switch (s) {
    case ConnState::kStandAlone: return "StandAlone";
    case ConnState::kDisconnecting: return "Disconnecting";
    case ConnState::kUnconnected: return "Unconnected";
    case ConnState::kTimeout: return "Timeout";
    case ConnState::kBrokenPipe: return "BrokenPipe";
    case ConnState::kNetworkFailure: return "NetworkFailure";
    case ConnState::kProtocolError: return "ProtocolError";
    case ConnState::kTearDown: return "TearDown";
    case ConnState::kWFConnection: return "WFConnection";
    case ConnState::kWFReportParams: return "WFReportParams";
    case ConnState::kConnected: return "Connected";
    case ConnState::kStartingSyncS: return "StartingSyncS";
    case ConnState::kStartingSyncT: return "StartingSyncT";
    case ConnState::kWFBitMapS: return "WFBitMapS";
    case ConnState::kWFBitMapT: return "WFBitMapT";
    case ConnState::kWFSyncUUID: return "WFSyncUUID";
    case ConnState::kSyncSource: return "SyncSource";
    case ConnState::kSyncTarget: return "SyncTarget";
    case ConnState::kPausedSyncS: return "PausedSyncS";
    case ConnState::kPausedSyncT: return "PausedSyncT";
    case ConnState::kVerifyS: return "VerifyS";
    case ConnState::kVerifyT: return "VerifyT";
  }
  return "?";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kUnknown: return "Unknown";
    case Role::kPrimary: return "Primary";
    case Role::kSecondary: return "Secondary";
  }
  return "?";
}

const char* DiskStateName(DiskState d) {
  switch (d) {
    case DiskState::kDiskless: return "Diskless";
    case DiskState::kAttaching: return "Attaching";
    case DiskState::kFailed: return "Failed";
    case DiskState::kNegotiating: return "Negotiating";
    case DiskState::kInconsistent: return "Inconsistent";
    case DiskState::kOutdated: return "Outdated";
    case DiskState::kDUnknown: return "DUnknown";
    case DiskState::kConsistent: return "Consistent";
    case DiskState::kUpToDate: return "UpToDate";
  }
  return "?";
}

bool IsConnected(ConnState s) { return s >= ConnState::kConnected; }
bool IsSyncing(ConnState s) {
  return s == ConnState::kSyncSource || s == ConnState::kSyncTarget ||
         s == ConnState::kPausedSyncS || s == ConnState::kPausedSyncT;
}
bool IsVerifying(ConnState s) { return s == ConnState::kVerifyS || s == ConnState::kVerifyT; }

std::string Refusal::Message() const {
  return "State change failed: (" + std::to_string(code) + ") " + text;
}

std::string RolePair(const StateSnapshot& s) {
  return std::string(RoleName(s.role)) + "/" + RoleName(s.peer_role);
}
std::string DiskPair(const StateSnapshot& s) {
  return std::string(DiskStateName(s.disk)) + "/" + DiskStateName(s.peer_disk);
}

std::optional<Refusal> StateMachine::Validate(const StateSnapshot& from, const StateSnapshot& to,
                                              const StatePolicy& policy, bool device_open) {
  const bool connected = IsConnected(to.conn);
  if (to.role == Role::kPrimary && to.peer_role == Role::kPrimary &&
      !policy.allow_two_primaries) {
    return refusal::kTwoPrimaries;
  }
  if (to.role == Role::kPrimary && from.role != Role::kPrimary) {
    const bool local_ok = to.disk == DiskState::kUpToDate;
    const bool peer_ok = connected && to.peer_disk == DiskState::kUpToDate;
    if (!local_ok && !peer_ok) return refusal::kNoUpToDateDisk;
  }
  if (from.role == Role::kPrimary && to.role == Role::kSecondary && device_open) {
    return refusal::kDeviceInUse;
  }
  if (to.disk == DiskState::kOutdated && from.disk != DiskState::kOutdated && connected) {
    return refusal::kConnectedOutdates;
  }
  return std::nullopt;
}

std::optional<Refusal> StateMachine::Promote(bool force) {
  if (s_.role == Role::kPrimary) return std::nullopt;
  StateSnapshot to = s_;
  to.role = Role::kPrimary;
  if (force && (s_.disk == DiskState::kInconsistent || s_.disk == DiskState::kOutdated ||
                s_.disk == DiskState::kConsistent)) {
    to.disk = DiskState::kUpToDate;
  }
  // A Consistent disk with no peer to ask: with fencing dont-care DRBD assumes
  // the absent peer is not newer and promotes (the classic Heartbeat failover).
  if (s_.disk == DiskState::kConsistent && !IsConnected(s_.conn) && policy_.fencing_dont_care) {
    to.disk = DiskState::kUpToDate;
  }
  if (auto r = Validate(s_, to, policy_, false)) return r;
  s_ = to;
  return std::nullopt;
}

std::optional<Refusal> StateMachine::Demote(bool device_open) {
  if (s_.role == Role::kSecondary) return std::nullopt;
  StateSnapshot to = s_;
  to.role = Role::kSecondary;
  if (auto r = Validate(s_, to, policy_, device_open)) return r;
  s_ = to;
  return std::nullopt;
}

std::optional<Refusal> StateMachine::Outdate() {
  if (s_.disk == DiskState::kDiskless) return refusal::kIsDiskless;
  if (s_.disk == DiskState::kOutdated) return std::nullopt;
  if (s_.disk < DiskState::kOutdated) return refusal::kLowerThanOutdated;
  if (s_.role == Role::kPrimary) return refusal::kDeviceInUse;
  StateSnapshot to = s_;
  to.disk = DiskState::kOutdated;
  if (auto r = Validate(s_, to, policy_, false)) return r;
  s_ = to;
  return std::nullopt;
}

std::optional<Refusal> StateMachine::Disconnect() {
  if (s_.conn == ConnState::kStandAlone) return refusal::kAlreadyStandAlone;
  LinkDown(ConnState::kDisconnecting, /*stand_alone=*/true);
  return std::nullopt;
}

std::optional<Refusal> StateMachine::CheckInvalidate() const {
  if (s_.disk == DiskState::kDiskless) return refusal::kIsDiskless;
  if (IsSyncing(s_.conn) || IsVerifying(s_.conn)) return refusal::kResyncRunning;
  if (s_.role == Role::kPrimary && !IsConnected(s_.conn)) return refusal::kNoUpToDateDisk;
  if (IsConnected(s_.conn) && s_.peer_disk != DiskState::kUpToDate) {
    return refusal::kNoUpToDateDisk;
  }
  return std::nullopt;
}

std::optional<Refusal> StateMachine::CheckInvalidateRemote() const {
  if (s_.disk == DiskState::kDiskless) return refusal::kIsDiskless;
  if (!IsConnected(s_.conn)) return refusal::kNeedConnection;
  if (IsSyncing(s_.conn) || IsVerifying(s_.conn)) return refusal::kResyncRunning;
  if (s_.disk != DiskState::kUpToDate) return refusal::kNoUpToDateDisk;
  return std::nullopt;
}

std::optional<Refusal> StateMachine::CheckNewCurrentUuid() const {
  if (s_.disk == DiskState::kDiskless) return refusal::kIsDiskless;
  return std::nullopt;
}

void StateMachine::Attached(DiskState from_meta) { s_.disk = from_meta; }

void StateMachine::Detached() { s_.disk = DiskState::kDiskless; }

void StateMachine::StartConnecting() {
  s_.conn = ConnState::kWFConnection;
  s_.peer_role = Role::kUnknown;
  s_.peer_disk = DiskState::kDUnknown;
}

void StateMachine::LinkUp() { s_.conn = ConnState::kWFReportParams; }

void StateMachine::Established(ConnState conn, Role peer_role, DiskState peer_disk) {
  s_.conn = conn;
  s_.peer_role = peer_role;
  s_.peer_disk = peer_disk;
}

void StateMachine::LinkDown(ConnState why, bool stand_alone) {
  (void)why;
  s_.conn = stand_alone ? ConnState::kStandAlone : ConnState::kWFConnection;
  s_.peer_role = Role::kUnknown;
  s_.peer_disk = DiskState::kDUnknown;
  s_.peer_paused = false;
}

void StateMachine::PeerChanged(Role peer_role, DiskState peer_disk) {
  s_.peer_role = peer_role;
  s_.peer_disk = peer_disk;
}

}  // namespace tandem::replication
