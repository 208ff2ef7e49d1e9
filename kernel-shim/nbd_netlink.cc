#include "nbd_netlink.h"

#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <cstring>
#include <memory>

namespace tandem::shim {
namespace {

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

struct Session {
  Sock sock;
  int family = -1;
};

Result<Session> Open() {
  Session s;
  s.sock.reset(nl_socket_alloc());
  if (!s.sock) return Status::IoError("nl_socket_alloc failed");
  int rc = genl_connect(s.sock.get());
  if (rc < 0) return Status::IoError(std::string("generic netlink: ") + nl_geterror(rc));
  s.family = genl_ctrl_resolve(s.sock.get(), "nbd");
  if (s.family < 0) {
    return Status::NotSupported("the kernel has no generic-netlink family \"nbd\" (" +
                                std::string(nl_geterror(s.family)) +
                                "; is the nbd module loaded?)");
  }
  return s;
}

Result<Msg> NewMessage(const Session& s, uint8_t cmd) {
  Msg m(nlmsg_alloc());
  if (!m) return Status::IoError("nlmsg_alloc failed");
  if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, s.family, 0, 0, cmd, 0)) {
    return Status::IoError("genlmsg_put failed");
  }
  return m;
}

Status PutSockets(nl_msg* m, const std::vector<int>& fds) {
  nlattr* socks = nla_nest_start(m, NBD_ATTR_SOCKETS);
  if (!socks) return Status::IoError("netlink message full");
  for (int fd : fds) {
    nlattr* item = nla_nest_start(m, NBD_SOCK_ITEM);
    if (!item || nla_put_u32(m, NBD_SOCK_FD, static_cast<uint32_t>(fd)) < 0) {
      return Status::IoError("netlink message full");
    }
    nla_nest_end(m, item);
  }
  nla_nest_end(m, socks);
  return Status::Ok();
}

// Sends `m` and waits for the kernel's answer; `on_reply` sees reply messages.
Status Exchange(Session& s, Msg m, const std::string& what, nl_recvmsg_msg_cb_t on_reply = nullptr,
                void* arg = nullptr) {
  if (on_reply) nl_socket_modify_cb(s.sock.get(), NL_CB_VALID, NL_CB_CUSTOM, on_reply, arg);
  const int rc = nl_send_sync(s.sock.get(), m.release());  // frees the message
  if (rc < 0) {
    // libnl maps the kernel's errno to its own codes; name both.
    return Status::IoError(what + ": " + nl_geterror(rc));
  }
  return Status::Ok();
}

int OnConnectReply(nl_msg* msg, void* arg) {
  genlmsghdr* gh = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(msg)));
  nlattr* attrs[NBD_ATTR_MAX + 1] = {};
  if (nla_parse(attrs, NBD_ATTR_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), nullptr) <
      0) {
    return NL_SKIP;
  }
  if (attrs[NBD_ATTR_INDEX])
    *static_cast<int*>(arg) = static_cast<int>(nla_get_u32(attrs[NBD_ATTR_INDEX]));
  return NL_OK;
}

struct StatusQuery {
  int index = -1;
  int connected = -1;
};

int OnStatusReply(nl_msg* msg, void* arg) {
  auto* q = static_cast<StatusQuery*>(arg);
  genlmsghdr* gh = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(msg)));
  nlattr* attrs[NBD_ATTR_MAX + 1] = {};
  if (nla_parse(attrs, NBD_ATTR_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), nullptr) <
          0 ||
      !attrs[NBD_ATTR_DEVICE_LIST]) {
    return NL_SKIP;
  }
  nlattr* item;
  int rem;
  nla_for_each_nested(item, attrs[NBD_ATTR_DEVICE_LIST], rem) {
    nlattr* dev[NBD_DEVICE_ATTR_MAX + 1] = {};
    if (nla_parse_nested(dev, NBD_DEVICE_ATTR_MAX, item, nullptr) < 0) continue;
    if (dev[NBD_DEVICE_INDEX] && static_cast<int>(nla_get_u32(dev[NBD_DEVICE_INDEX])) == q->index &&
        dev[NBD_DEVICE_CONNECTED]) {
      q->connected = nla_get_u8(dev[NBD_DEVICE_CONNECTED]);
    }
  }
  return NL_OK;
}

std::string Dev(int index) {
  return index < 0 ? "/dev/nbd?" : "/dev/nbd" + std::to_string(index);
}

}  // namespace

bool NetlinkAvailable() {
  return Open().ok();
}

Result<int> NetlinkConnect(const NbdDeviceParams& p, const std::vector<int>& fds) {
  Result<Session> s = Open();
  if (!s.ok()) return s.status();
  Result<Msg> m = NewMessage(*s, NBD_CMD_CONNECT);
  if (!m.ok()) return m.status();
  nl_msg* msg = m->get();
  if (p.index >= 0) nla_put_u32(msg, NBD_ATTR_INDEX, static_cast<uint32_t>(p.index));
  nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, p.size);
  nla_put_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, p.block_size);
  nla_put_u64(msg, NBD_ATTR_TIMEOUT, p.timeout_s);
  nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, p.server_flags);
  if (p.dead_conn_timeout_s > 0)
    nla_put_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, p.dead_conn_timeout_s);
  if (!p.backend.empty()) nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, p.backend.c_str());
  TANDEM_RETURN_IF_ERROR(PutSockets(msg, fds));
  int index = p.index;
  TANDEM_RETURN_IF_ERROR(
      Exchange(*s, std::move(*m), "NBD_CMD_CONNECT " + Dev(p.index), OnConnectReply, &index));
  if (index < 0) return Status::ProtocolError("NBD_CMD_CONNECT: the kernel named no device");
  return index;
}

Status NetlinkDisconnect(int index) {
  Result<Session> s = Open();
  if (!s.ok()) return s.status();
  Result<Msg> m = NewMessage(*s, NBD_CMD_DISCONNECT);
  if (!m.ok()) return m.status();
  nla_put_u32(m->get(), NBD_ATTR_INDEX, static_cast<uint32_t>(index));
  return Exchange(*s, std::move(*m), "NBD_CMD_DISCONNECT " + Dev(index));
}

Status NetlinkReconfigure(int index, const std::vector<int>& fds) {
  Result<Session> s = Open();
  if (!s.ok()) return s.status();
  Result<Msg> m = NewMessage(*s, NBD_CMD_RECONFIGURE);
  if (!m.ok()) return m.status();
  nla_put_u32(m->get(), NBD_ATTR_INDEX, static_cast<uint32_t>(index));
  TANDEM_RETURN_IF_ERROR(PutSockets(m->get(), fds));
  return Exchange(*s, std::move(*m), "NBD_CMD_RECONFIGURE " + Dev(index));
}

Result<bool> NetlinkConnected(int index) {
  Result<Session> s = Open();
  if (!s.ok()) return s.status();
  Result<Msg> m = NewMessage(*s, NBD_CMD_STATUS);
  if (!m.ok()) return m.status();
  nla_put_u32(m->get(), NBD_ATTR_INDEX, static_cast<uint32_t>(index));
  StatusQuery q;
  q.index = index;
  TANDEM_RETURN_IF_ERROR(
      Exchange(*s, std::move(*m), "NBD_CMD_STATUS " + Dev(index), OnStatusReply, &q));
  if (q.connected < 0) return Status::NotFound(Dev(index) + " is not known to the nbd driver");
  return q.connected == 1;
}

}  // namespace tandem::shim
