// StateMachine (docs/states.md), transition by transition: promotion from each
// disk state with and without --force, connected or not, the two-primaries
// rule, demotion while open, outdate, disconnect, invalidate and
// invalidate-remote checks, link events, and DRBD 8.4's names and texts.
#include "replication/state.h"

#include <gtest/gtest.h>

#include <vector>

namespace tandem::replication {
namespace {

const std::vector<DiskState> kAllDisks = {
    DiskState::kDiskless,    DiskState::kAttaching,    DiskState::kFailed,
    DiskState::kNegotiating, DiskState::kInconsistent, DiskState::kOutdated,
    DiskState::kDUnknown,    DiskState::kConsistent,   DiskState::kUpToDate};

const std::vector<ConnState> kAllConns = {
    ConnState::kStandAlone,     ConnState::kDisconnecting, ConnState::kUnconnected,
    ConnState::kTimeout,        ConnState::kBrokenPipe,    ConnState::kNetworkFailure,
    ConnState::kProtocolError,  ConnState::kTearDown,      ConnState::kWFConnection,
    ConnState::kWFReportParams, ConnState::kConnected,     ConnState::kStartingSyncS,
    ConnState::kStartingSyncT,  ConnState::kWFBitMapS,     ConnState::kWFBitMapT,
    ConnState::kWFSyncUUID,     ConnState::kSyncSource,    ConnState::kSyncTarget,
    ConnState::kPausedSyncS,    ConnState::kPausedSyncT,   ConnState::kVerifyS,
    ConnState::kVerifyT};

std::string Describe(const std::optional<Refusal>& r) {
  return r ? r->Message() : std::string("allowed");
}

// A machine that is Secondary with `disk`, connected to a peer in
// `peer_role`/`peer_disk` when `connected`, else waiting for it.
StateMachine Machine(DiskState disk, bool connected, Role peer_role = Role::kSecondary,
                     DiskState peer_disk = DiskState::kUpToDate, StatePolicy policy = {}) {
  StateMachine m(policy);
  m.Attached(disk);
  m.StartConnecting();
  if (connected) {
    m.LinkUp();
    m.Established(ConnState::kConnected, peer_role, peer_disk);
  }
  return m;
}

// --- names --------------------------------------------------------------------

TEST(StateNames, ConnectionStatesUseDrbd84Spelling) {
  const std::vector<std::string> want = {
      "StandAlone",     "Disconnecting", "Unconnected",   "Timeout",      "BrokenPipe",
      "NetworkFailure", "ProtocolError", "TearDown",      "WFConnection", "WFReportParams",
      "Connected",      "StartingSyncS", "StartingSyncT", "WFBitMapS",    "WFBitMapT",
      "WFSyncUUID",     "SyncSource",    "SyncTarget",    "PausedSyncS",  "PausedSyncT",
      "VerifyS",        "VerifyT"};
  ASSERT_EQ(want.size(), kAllConns.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ConnStateName(kAllConns[i]), want[i]);
  EXPECT_STREQ(ConnStateName(static_cast<ConnState>(200)), "?");
}

TEST(StateNames, RolesAndDiskStates) {
  EXPECT_STREQ(RoleName(Role::kUnknown), "Unknown");
  EXPECT_STREQ(RoleName(Role::kPrimary), "Primary");
  EXPECT_STREQ(RoleName(Role::kSecondary), "Secondary");
  EXPECT_STREQ(RoleName(static_cast<Role>(9)), "?");
  const std::vector<std::string> want = {"Diskless",    "Attaching",    "Failed",
                                         "Negotiating", "Inconsistent", "Outdated",
                                         "DUnknown",    "Consistent",   "UpToDate"};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(DiskStateName(kAllDisks[i]), want[i]);
    // The wire carries these numbers (docs/wire-protocol.md: 0 Diskless ... 8 UpToDate).
    EXPECT_EQ(static_cast<int>(kAllDisks[i]), static_cast<int>(i));
  }
  EXPECT_STREQ(DiskStateName(static_cast<DiskState>(9)), "?");
  EXPECT_EQ(static_cast<int>(Role::kPrimary), 1);
  EXPECT_EQ(static_cast<int>(Role::kSecondary), 2);
}

TEST(StateNames, ConnectedSyncingVerifyingClasses) {
  for (ConnState c : kAllConns) {
    const bool connected = c == ConnState::kConnected || c == ConnState::kStartingSyncS ||
                           c == ConnState::kStartingSyncT || c == ConnState::kWFBitMapS ||
                           c == ConnState::kWFBitMapT || c == ConnState::kWFSyncUUID ||
                           c == ConnState::kSyncSource || c == ConnState::kSyncTarget ||
                           c == ConnState::kPausedSyncS || c == ConnState::kPausedSyncT ||
                           c == ConnState::kVerifyS || c == ConnState::kVerifyT;
    const bool syncing = c == ConnState::kSyncSource || c == ConnState::kSyncTarget ||
                         c == ConnState::kPausedSyncS || c == ConnState::kPausedSyncT;
    const bool verifying = c == ConnState::kVerifyS || c == ConnState::kVerifyT;
    EXPECT_EQ(IsConnected(c), connected) << ConnStateName(c);
    EXPECT_EQ(IsSyncing(c), syncing) << ConnStateName(c);
    EXPECT_EQ(IsVerifying(c), verifying) << ConnStateName(c);
  }
}

TEST(StateNames, RefusalMessagesAreDrbdTexts) {
  EXPECT_EQ(refusal::kNoUpToDateDisk.Message(),
            "State change failed: (-2) Need access to UpToDate data");
  EXPECT_EQ(refusal::kTwoPrimaries.Message(),
            "State change failed: (-1) Multiple primaries not allowed by config");
  EXPECT_EQ(refusal::kConnectedOutdates.Message(),
            "State change failed: (-6) Refusing to be Outdated while Connected");
  EXPECT_EQ(refusal::kResyncRunning.Message(),
            "State change failed: (-8) Can not start OV/resync since it is already active");
  EXPECT_EQ(refusal::kAlreadyStandAlone.Message(),
            "State change failed: (-9) Can not disconnect a StandAlone device");
  EXPECT_EQ(refusal::kIsDiskless.Message(),
            "State change failed: (-11) Device is diskless, the requested operation requires a "
            "disk");
  EXPECT_EQ(refusal::kDeviceInUse.Message(),
            "State change failed: (-12) Device is held open by someone");
  EXPECT_EQ(refusal::kNeedConnection.Message(),
            "State change failed: (-15) Need a connection to start verify or resync");
  EXPECT_EQ(refusal::kLowerThanOutdated.Message(),
            "State change failed: (-16) Disk state is lower than outdated");
  EXPECT_EQ(refusal::kRefusedByPeer.Message(),
            "State change failed: (-10) State change was refused by peer node");
  EXPECT_EQ(refusal::kInTransientState.Message(),
            "State change failed: (-18) In transient state, retry after next state change");
  EXPECT_EQ(refusal::kNoVerifyAlg.Message(),
            "State change failed: (-14) Need a verify algorithm to start online verify");
  // Refusals compare by code.
  EXPECT_TRUE(refusal::kNoUpToDateDisk == (Refusal{-2, "other words"}));
  EXPECT_FALSE(refusal::kNoUpToDateDisk == refusal::kTwoPrimaries);
}

TEST(StateNames, RoleAndDiskPairs) {
  StateSnapshot s;
  EXPECT_EQ(RolePair(s), "Secondary/Unknown");
  EXPECT_EQ(DiskPair(s), "Diskless/DUnknown");
  s.role = Role::kPrimary;
  s.peer_role = Role::kSecondary;
  s.disk = DiskState::kUpToDate;
  s.peer_disk = DiskState::kInconsistent;
  EXPECT_EQ(RolePair(s), "Primary/Secondary");
  EXPECT_EQ(DiskPair(s), "UpToDate/Inconsistent");
}

TEST(StateMachine, StartsSecondaryDisklessStandAlone) {
  StateMachine m;
  const StateSnapshot& s = m.state();
  EXPECT_EQ(s.role, Role::kSecondary);
  EXPECT_EQ(s.peer_role, Role::kUnknown);
  EXPECT_EQ(s.disk, DiskState::kDiskless);
  EXPECT_EQ(s.peer_disk, DiskState::kDUnknown);
  EXPECT_EQ(s.conn, ConnState::kStandAlone);
  EXPECT_FALSE(s.user_paused);
  EXPECT_FALSE(s.peer_paused);
}

// --- promote --------------------------------------------------------------------

TEST(StatePromote, DisconnectedFromEachDiskState) {
  for (DiskState d : kAllDisks) {
    for (bool force : {false, true}) {
      SCOPED_TRACE(std::string(DiskStateName(d)) + (force ? " --force" : ""));
      StateMachine m = Machine(d, /*connected=*/false);
      const StateSnapshot before = m.state();
      auto r = m.Promote(force);
      // UpToDate always; Consistent alone under fencing dont-care; Inconsistent
      // and Outdated only when forced; nothing without a usable disk.
      const bool allowed = d == DiskState::kUpToDate || d == DiskState::kConsistent ||
                           (force && (d == DiskState::kInconsistent || d == DiskState::kOutdated));
      if (allowed) {
        EXPECT_FALSE(r) << Describe(r);
        EXPECT_EQ(m.state().role, Role::kPrimary);
        EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
        EXPECT_EQ(m.state().conn, ConnState::kWFConnection);
      } else {
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, refusal::kNoUpToDateDisk) << r->Message();
        EXPECT_EQ(r->Message(), "State change failed: (-2) Need access to UpToDate data");
        EXPECT_EQ(m.state(), before);
      }
    }
  }
}

TEST(StatePromote, ConsistentAloneNeedsForceWithoutFencingDontCare) {
  StatePolicy p;
  p.fencing_dont_care = false;
  StateMachine m =
      Machine(DiskState::kConsistent, false, Role::kSecondary, DiskState::kUpToDate, p);
  auto r = m.Promote(false);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, refusal::kNoUpToDateDisk);
  EXPECT_EQ(m.state().role, Role::kSecondary);
  EXPECT_EQ(m.state().disk, DiskState::kConsistent);
  EXPECT_FALSE(m.Promote(true));
  EXPECT_EQ(m.state().role, Role::kPrimary);
  EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
}

TEST(StatePromote, StandAloneBehavesAsDisconnected) {
  StateMachine m;
  m.Attached(DiskState::kOutdated);
  ASSERT_EQ(m.state().conn, ConnState::kStandAlone);
  EXPECT_EQ(m.Promote(false), refusal::kNoUpToDateDisk);
  EXPECT_FALSE(m.Promote(true));
  EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
  EXPECT_EQ(m.state().role, Role::kPrimary);
}

TEST(StatePromote, ConnectedToAnUpToDatePeerFromEachDiskState) {
  for (DiskState d : kAllDisks) {
    for (bool force : {false, true}) {
      SCOPED_TRACE(std::string(DiskStateName(d)) + (force ? " --force" : ""));
      StateMachine m = Machine(d, true, Role::kSecondary, DiskState::kUpToDate);
      auto r = m.Promote(force);
      // The peer's UpToDate disk is enough (a diskless Primary uses it).
      EXPECT_FALSE(r) << Describe(r);
      EXPECT_EQ(m.state().role, Role::kPrimary);
      const bool forced_up = force && (d == DiskState::kInconsistent || d == DiskState::kOutdated ||
                                       d == DiskState::kConsistent);
      EXPECT_EQ(m.state().disk, forced_up ? DiskState::kUpToDate : d);
      EXPECT_EQ(m.state().peer_disk, DiskState::kUpToDate);
    }
  }
}

TEST(StatePromote, ConnectedToAnOutdatedPeerFromEachDiskState) {
  for (DiskState d : kAllDisks) {
    for (bool force : {false, true}) {
      SCOPED_TRACE(std::string(DiskStateName(d)) + (force ? " --force" : ""));
      StateMachine m = Machine(d, true, Role::kSecondary, DiskState::kOutdated);
      const StateSnapshot before = m.state();
      auto r = m.Promote(force);
      // Connected, so nothing is assumed about the peer: only UpToDate data,
      // or --force on a disk that has data.
      const bool allowed = d == DiskState::kUpToDate ||
                           (force && (d == DiskState::kInconsistent || d == DiskState::kOutdated ||
                                      d == DiskState::kConsistent));
      if (allowed) {
        EXPECT_FALSE(r) << Describe(r);
        EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
        EXPECT_EQ(m.state().role, Role::kPrimary);
      } else {
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, refusal::kNoUpToDateDisk) << r->Message();
        EXPECT_EQ(m.state(), before);
      }
    }
  }
}

TEST(StatePromote, PeerPrimaryWithoutAllowTwoPrimariesIsRefusedEvenWithForce) {
  for (bool force : {false, true}) {
    for (DiskState d : {DiskState::kUpToDate, DiskState::kInconsistent, DiskState::kDiskless}) {
      SCOPED_TRACE(std::string(DiskStateName(d)) + (force ? " --force" : ""));
      StateMachine m = Machine(d, true, Role::kPrimary, DiskState::kUpToDate);
      const StateSnapshot before = m.state();
      auto r = m.Promote(force);
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, refusal::kTwoPrimaries);
      EXPECT_EQ(r->Message(), "State change failed: (-1) Multiple primaries not allowed by config");
      EXPECT_EQ(m.state(), before);
    }
  }
}

TEST(StatePromote, PeerPrimaryWithAllowTwoPrimaries) {
  StatePolicy p;
  p.allow_two_primaries = true;
  StateMachine m = Machine(DiskState::kUpToDate, true, Role::kPrimary, DiskState::kUpToDate, p);
  EXPECT_FALSE(m.Promote(false));
  EXPECT_EQ(RolePair(m.state()), "Primary/Primary");
  // The data rule still applies.
  StateMachine o = Machine(DiskState::kOutdated, true, Role::kPrimary, DiskState::kOutdated, p);
  EXPECT_EQ(o.Promote(false), refusal::kNoUpToDateDisk);
  // set_policy takes effect for later requests.
  StateMachine q = Machine(DiskState::kUpToDate, true, Role::kPrimary, DiskState::kUpToDate);
  EXPECT_EQ(q.Promote(false), refusal::kTwoPrimaries);
  q.set_policy(p);
  EXPECT_FALSE(q.Promote(false));
}

TEST(StatePromote, AlreadyPrimaryIsANoOp) {
  StateMachine m = Machine(DiskState::kUpToDate, false);
  ASSERT_FALSE(m.Promote(false));
  const StateSnapshot before = m.state();
  EXPECT_FALSE(m.Promote(false));
  EXPECT_FALSE(m.Promote(true));
  EXPECT_EQ(m.state(), before);
}

// --- demote ---------------------------------------------------------------------

TEST(StateDemote, WhileTheDeviceIsOpenIsRefused) {
  StateMachine m = Machine(DiskState::kUpToDate, true);
  ASSERT_FALSE(m.Promote(false));
  auto r = m.Demote(/*device_open=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, refusal::kDeviceInUse);
  EXPECT_EQ(r->Message(), "State change failed: (-12) Device is held open by someone");
  EXPECT_EQ(m.state().role, Role::kPrimary);
  EXPECT_FALSE(m.Demote(/*device_open=*/false));
  EXPECT_EQ(m.state().role, Role::kSecondary);
}

TEST(StateDemote, ClosedDeviceDemotesFromAnyDiskAndConnectionState) {
  // secondary once nothing holds the device open, whatever the data looks like
  // (a diskless Primary, a Primary whose peer went away).
  for (DiskState d : kAllDisks) {
    for (bool connected : {false, true}) {
      SCOPED_TRACE(std::string(DiskStateName(d)) + (connected ? " connected" : ""));
      StateMachine m = Machine(d, connected);
      m.SetRole(Role::kPrimary);
      const StateSnapshot before = m.state();
      auto r = m.Demote(false);
      EXPECT_FALSE(r) << Describe(r);
      StateSnapshot want = before;
      want.role = Role::kSecondary;
      EXPECT_EQ(m.state(), want);
    }
  }
}

TEST(StateDemote, SecondaryIsANoOpEvenWhenOpen) {
  StateMachine m = Machine(DiskState::kUpToDate, true);
  EXPECT_FALSE(m.Demote(true));
  EXPECT_EQ(m.state().role, Role::kSecondary);
}

// --- outdate --------------------------------------------------------------------

TEST(StateOutdate, RulesByDiskStateWhileDisconnected) {
  for (DiskState d : kAllDisks) {
    SCOPED_TRACE(DiskStateName(d));
    StateMachine m = Machine(d, false);
    const StateSnapshot before = m.state();
    auto r = m.Outdate();
    if (d == DiskState::kDiskless) {
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, refusal::kIsDiskless) << r->Message();
      EXPECT_EQ(m.state(), before);
    } else if (d == DiskState::kAttaching || d == DiskState::kFailed ||
               d == DiskState::kNegotiating || d == DiskState::kInconsistent) {
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, refusal::kLowerThanOutdated) << r->Message();
      EXPECT_EQ(m.state(), before);
    } else {
      EXPECT_FALSE(r) << Describe(r);
      EXPECT_EQ(m.state().disk, DiskState::kOutdated);
    }
  }
}

TEST(StateOutdate, WhileConnectedIsRefused) {
  for (ConnState c : {ConnState::kConnected, ConnState::kSyncSource, ConnState::kVerifyT,
                      ConnState::kWFBitMapS}) {
    SCOPED_TRACE(ConnStateName(c));
    StateMachine m = Machine(DiskState::kUpToDate, true);
    m.SetConn(c);
    auto r = m.Outdate();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, refusal::kConnectedOutdates);
    EXPECT_EQ(r->Message(), "State change failed: (-6) Refusing to be Outdated while Connected");
    EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
  }
  StateMachine c = Machine(DiskState::kConsistent, true);
  EXPECT_EQ(c.Outdate(), refusal::kConnectedOutdates);
  // Already Outdated: nothing to change, nothing refused.
  StateMachine o = Machine(DiskState::kOutdated, true);
  EXPECT_FALSE(o.Outdate());
  EXPECT_EQ(o.state().disk, DiskState::kOutdated);
}

TEST(StateOutdate, DisklessAndInconsistentWhileConnected) {
  StateMachine diskless = Machine(DiskState::kDiskless, true);
  EXPECT_EQ(diskless.Outdate(), refusal::kIsDiskless);
  StateMachine inconsistent = Machine(DiskState::kInconsistent, true);
  EXPECT_EQ(inconsistent.Outdate(), refusal::kLowerThanOutdated);
  EXPECT_EQ(inconsistent.state().disk, DiskState::kInconsistent);
}

TEST(StateOutdate, APrimaryIsNotOutdated) {
  StateMachine m = Machine(DiskState::kUpToDate, false);
  ASSERT_FALSE(m.Promote(false));
  const StateSnapshot before = m.state();
  EXPECT_TRUE(m.Outdate());
  EXPECT_EQ(m.state(), before);
}

// --- disconnect -----------------------------------------------------------------

TEST(StateDisconnect, StandAloneIsRefused) {
  StateMachine m;
  m.Attached(DiskState::kUpToDate);
  auto r = m.Disconnect();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, refusal::kAlreadyStandAlone);
  EXPECT_EQ(r->Message(), "State change failed: (-9) Can not disconnect a StandAlone device");
}

TEST(StateDisconnect, FromAnyOtherStateGoesStandAloneKeepingTheDisk) {
  for (ConnState c : kAllConns) {
    if (c == ConnState::kStandAlone) continue;
    SCOPED_TRACE(ConnStateName(c));
    StateMachine m = Machine(DiskState::kUpToDate, true, Role::kPrimary, DiskState::kUpToDate);
    m.SetConn(c);
    m.SetPaused(true, true);
    EXPECT_FALSE(m.Disconnect());
    EXPECT_EQ(m.state().conn, ConnState::kStandAlone);
    EXPECT_EQ(m.state().peer_role, Role::kUnknown);
    EXPECT_EQ(m.state().peer_disk, DiskState::kDUnknown);
    EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
    EXPECT_EQ(m.state().role, Role::kSecondary);
    EXPECT_FALSE(m.state().peer_paused);
    EXPECT_EQ(m.Disconnect(), refusal::kAlreadyStandAlone);
  }
}

// --- invalidate -------------------------------------------------------------------

TEST(StateInvalidate, Checks) {
  // Diskless first of all.
  EXPECT_EQ(Machine(DiskState::kDiskless, true).CheckInvalidate(), refusal::kIsDiskless);
  EXPECT_EQ(Machine(DiskState::kDiskless, false).CheckInvalidate(), refusal::kIsDiskless);
  // Not during a resync or verify.
  for (ConnState c : {ConnState::kSyncSource, ConnState::kSyncTarget, ConnState::kPausedSyncS,
                      ConnState::kPausedSyncT, ConnState::kVerifyS, ConnState::kVerifyT}) {
    StateMachine m = Machine(DiskState::kUpToDate, true);
    m.SetConn(c);
    auto r = m.CheckInvalidate();
    ASSERT_TRUE(r) << ConnStateName(c);
    EXPECT_EQ(*r, refusal::kResyncRunning) << ConnStateName(c);
    EXPECT_EQ(r->Message(),
              "State change failed: (-8) Can not start OV/resync since it is already active");
  }
  // Connected: the peer must have the good data to copy back.
  EXPECT_FALSE(Machine(DiskState::kUpToDate, true, Role::kSecondary, DiskState::kUpToDate)
                   .CheckInvalidate());
  EXPECT_EQ(
      Machine(DiskState::kUpToDate, true, Role::kSecondary, DiskState::kOutdated).CheckInvalidate(),
      refusal::kNoUpToDateDisk);
  // Disconnected Secondary: just marks everything out of sync.
  EXPECT_FALSE(Machine(DiskState::kUpToDate, false).CheckInvalidate());
  EXPECT_FALSE(Machine(DiskState::kInconsistent, false).CheckInvalidate());
  // A disconnected Primary would lose its only data.
  StateMachine p = Machine(DiskState::kUpToDate, false);
  ASSERT_FALSE(p.Promote(false));
  EXPECT_EQ(p.CheckInvalidate(), refusal::kNoUpToDateDisk);
}

TEST(StateInvalidateRemote, Checks) {
  EXPECT_EQ(Machine(DiskState::kDiskless, true).CheckInvalidateRemote(), refusal::kIsDiskless);
  auto r = Machine(DiskState::kUpToDate, false).CheckInvalidateRemote();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, refusal::kNeedConnection);
  EXPECT_EQ(r->Message(), "State change failed: (-15) Need a connection to start verify or resync");
  StateMachine standalone;
  standalone.Attached(DiskState::kUpToDate);
  EXPECT_EQ(standalone.CheckInvalidateRemote(), refusal::kNeedConnection);
  for (ConnState c : {ConnState::kSyncSource, ConnState::kPausedSyncT, ConnState::kVerifyS}) {
    StateMachine m = Machine(DiskState::kUpToDate, true);
    m.SetConn(c);
    EXPECT_EQ(m.CheckInvalidateRemote(), refusal::kResyncRunning) << ConnStateName(c);
  }
  // We become the source: our data must be UpToDate.
  EXPECT_EQ(Machine(DiskState::kConsistent, true).CheckInvalidateRemote(),
            refusal::kNoUpToDateDisk);
  EXPECT_EQ(Machine(DiskState::kOutdated, true).CheckInvalidateRemote(), refusal::kNoUpToDateDisk);
  EXPECT_FALSE(Machine(DiskState::kUpToDate, true).CheckInvalidateRemote());
}

TEST(StateNewCurrentUuid, NeedsADisk) {
  EXPECT_EQ(Machine(DiskState::kDiskless, false).CheckNewCurrentUuid(), refusal::kIsDiskless);
  for (DiskState d : kAllDisks) {
    if (d == DiskState::kDiskless) continue;
    EXPECT_FALSE(Machine(d, false).CheckNewCurrentUuid()) << DiskStateName(d);
  }
}

// --- events ---------------------------------------------------------------------

TEST(StateEvents, ConnectLinkUpEstablished) {
  StateMachine m;
  m.Attached(DiskState::kConsistent);
  EXPECT_EQ(m.state().disk, DiskState::kConsistent);
  m.StartConnecting();
  EXPECT_EQ(m.state().conn, ConnState::kWFConnection);
  m.LinkUp();
  EXPECT_EQ(m.state().conn, ConnState::kWFReportParams);
  EXPECT_EQ(m.state().peer_role, Role::kUnknown);
  m.Established(ConnState::kWFBitMapT, Role::kPrimary, DiskState::kUpToDate);
  EXPECT_EQ(m.state().conn, ConnState::kWFBitMapT);
  EXPECT_EQ(RolePair(m.state()), "Secondary/Primary");
  EXPECT_EQ(DiskPair(m.state()), "Consistent/UpToDate");
  m.PeerChanged(Role::kSecondary, DiskState::kOutdated);
  EXPECT_EQ(DiskPair(m.state()), "Consistent/Outdated");
  EXPECT_EQ(RolePair(m.state()), "Secondary/Secondary");
  m.Detached();
  EXPECT_EQ(m.state().disk, DiskState::kDiskless);
}

TEST(StateEvents, LinkDownKeepsTheLocalDiskAndForgetsThePeer) {
  for (ConnState why : {ConnState::kTimeout, ConnState::kBrokenPipe, ConnState::kNetworkFailure,
                        ConnState::kProtocolError}) {
    for (DiskState d : {DiskState::kUpToDate, DiskState::kInconsistent, DiskState::kConsistent,
                        DiskState::kOutdated, DiskState::kDiskless}) {
      SCOPED_TRACE(std::string(ConnStateName(why)) + " " + DiskStateName(d));
      StateMachine m = Machine(d, true, Role::kPrimary, DiskState::kUpToDate);
      m.SetConn(ConnState::kSyncTarget);
      m.SetPaused(true, true);
      m.LinkDown(why, /*stand_alone=*/false);
      EXPECT_EQ(m.state().conn, ConnState::kWFConnection);
      EXPECT_EQ(m.state().disk, d);
      EXPECT_EQ(m.state().role, Role::kSecondary);
      EXPECT_EQ(m.state().peer_role, Role::kUnknown);
      EXPECT_EQ(m.state().peer_disk, DiskState::kDUnknown);
      EXPECT_FALSE(m.state().peer_paused);
      EXPECT_TRUE(m.state().user_paused);
    }
  }
  StateMachine m = Machine(DiskState::kUpToDate, true);
  m.LinkDown(ConnState::kProtocolError, /*stand_alone=*/true);
  EXPECT_EQ(m.state().conn, ConnState::kStandAlone);
  EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
  EXPECT_EQ(m.state().peer_disk, DiskState::kDUnknown);
}

TEST(StateEvents, LinkDownOfAPrimaryKeepsItPrimary) {
  StateMachine m = Machine(DiskState::kUpToDate, true);
  ASSERT_FALSE(m.Promote(false));
  m.LinkDown(ConnState::kNetworkFailure, false);
  EXPECT_EQ(RolePair(m.state()), "Primary/Unknown");
  EXPECT_EQ(DiskPair(m.state()), "UpToDate/DUnknown");
}

TEST(StateEvents, PromotedDisconnectedThenPeerReturns) {
  // The classic Heartbeat failover: a Consistent disk promoted alone, the peer
  // comes back, and demotion works once the device is closed.
  StateMachine m = Machine(DiskState::kConsistent, false);
  ASSERT_FALSE(m.Promote(false));
  EXPECT_EQ(DiskPair(m.state()), "UpToDate/DUnknown");
  m.LinkUp();
  m.Established(ConnState::kSyncSource, Role::kSecondary, DiskState::kInconsistent);
  EXPECT_TRUE(m.Outdate());  // neither while connected nor as Primary
  EXPECT_EQ(m.state().disk, DiskState::kUpToDate);
  EXPECT_EQ(m.Demote(true), refusal::kDeviceInUse);
  EXPECT_FALSE(m.Demote(false));
  EXPECT_EQ(RolePair(m.state()), "Secondary/Secondary");
}

// --- Validate, the shared rule set ---------------------------------------------------

TEST(StateValidate, PeerSideChecks) {
  StatePolicy policy;
  StateSnapshot from;
  from.role = Role::kSecondary;
  from.peer_role = Role::kPrimary;
  from.disk = DiskState::kUpToDate;
  from.peer_disk = DiskState::kUpToDate;
  from.conn = ConnState::kConnected;
  StateSnapshot to = from;
  to.role = Role::kPrimary;
  EXPECT_EQ(StateMachine::Validate(from, to, policy, false), refusal::kTwoPrimaries);
  policy.allow_two_primaries = true;
  EXPECT_FALSE(StateMachine::Validate(from, to, policy, false));

  // Demotion with the device open.
  StateSnapshot p = from;
  p.role = Role::kPrimary;
  p.peer_role = Role::kSecondary;
  StateSnapshot s = p;
  s.role = Role::kSecondary;
  EXPECT_EQ(StateMachine::Validate(p, s, policy, true), refusal::kDeviceInUse);
  EXPECT_FALSE(StateMachine::Validate(p, s, policy, false));

  // Outdating while connected; staying Outdated is fine.
  StateSnapshot o = s;
  o.disk = DiskState::kOutdated;
  EXPECT_EQ(StateMachine::Validate(s, o, policy, false), refusal::kConnectedOutdates);
  EXPECT_FALSE(StateMachine::Validate(o, o, policy, false));
  o.conn = ConnState::kWFConnection;
  StateSnapshot s2 = s;
  s2.conn = ConnState::kWFConnection;
  EXPECT_FALSE(StateMachine::Validate(s2, o, policy, false));

  // An existing Primary is not re-checked for data (it may have lost its disk).
  StateSnapshot diskless_primary = p;
  diskless_primary.disk = DiskState::kDiskless;
  diskless_primary.conn = ConnState::kWFConnection;
  diskless_primary.peer_disk = DiskState::kDUnknown;
  EXPECT_FALSE(StateMachine::Validate(diskless_primary, diskless_primary, policy, false));
}

}  // namespace
}  // namespace tandem::replication
