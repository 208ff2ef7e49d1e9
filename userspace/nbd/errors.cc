#include "nbd/errors.h"

#include <cerrno>
#include <cstring>

#include "nbd/wire.h"

namespace tandem::nbd {

namespace {
bool MentionsErrno(const std::string& text, int err) {
  return text.find(std::strerror(err)) != std::string::npos;
}
}  // namespace

uint32_t ToNbdError(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kInvalidArgument:
    case Code::kNotSupported:
      return kEinval;
    case Code::kPermissionDenied:
      return kEperm;
    case Code::kAborted:
      return kEshutdown;
    case Code::kIoError:
      if (MentionsErrno(status.message(), ENOSPC) || MentionsErrno(status.message(), EDQUOT) ||
          MentionsErrno(status.message(), EFBIG)) {
        return kEnospc;
      }
      return kEio;
    default:
      return kEio;
  }
}

Status FromNbdError(uint32_t error, const std::string& context, const std::string& server_text) {
  std::string msg = context + ": " + NbdErrorName(error);
  if (error == kEnospc) msg += std::string(" (") + std::strerror(ENOSPC) + ")";
  if (!server_text.empty()) msg += ": " + server_text;
  switch (error) {
    case kEperm:
      return Status::PermissionDenied(std::move(msg));
    case kEinval:
    case kEoverflow:
      return Status::InvalidArgument(std::move(msg));
    case kEnotsup:
      return Status::NotSupported(std::move(msg));
    case kEshutdown:
      return Status::Aborted(std::move(msg));
    default:
      return Status::IoError(std::move(msg));
  }
}

std::string NbdErrorName(uint32_t error) {
  switch (error) {
    case kEperm: return "EPERM";
    case kEio: return "EIO";
    case kEnomem: return "ENOMEM";
    case kEinval: return "EINVAL";
    case kEnospc: return "ENOSPC";
    case kEoverflow: return "EOVERFLOW";
    case kEnotsup: return "ENOTSUP";
    case kEshutdown: return "ESHUTDOWN";
  }
  return "error " + std::to_string(error);
}

std::string OptionName(uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptPeekExport: return "NBD_OPT_PEEK_EXPORT";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
  }
  return "option " + std::to_string(option);
}

std::string OptionReplyName(uint32_t reply_type) {
  switch (reply_type) {
    case kRepAck: return "NBD_REP_ACK";
    case kRepServer: return "NBD_REP_SERVER";
    case kRepInfo: return "NBD_REP_INFO";
    case kRepMetaContext: return "NBD_REP_META_CONTEXT";
    case kRepErrUnsup: return "NBD_REP_ERR_UNSUP";
    case kRepErrPolicy: return "NBD_REP_ERR_POLICY";
    case kRepErrInvalid: return "NBD_REP_ERR_INVALID";
    case kRepErrPlatform: return "NBD_REP_ERR_PLATFORM";
    case kRepErrTlsReqd: return "NBD_REP_ERR_TLS_REQD";
    case kRepErrUnknown: return "NBD_REP_ERR_UNKNOWN";
    case kRepErrShutdown: return "NBD_REP_ERR_SHUTDOWN";
    case kRepErrBlockSizeReqd: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
    case kRepErrTooBig: return "NBD_REP_ERR_TOO_BIG";
  }
  return "reply type " + std::to_string(reply_type);
}

std::string CommandName(uint16_t type) {
  switch (type) {
    case kCmdRead: return "NBD_CMD_READ";
    case kCmdWrite: return "NBD_CMD_WRITE";
    case kCmdDisc: return "NBD_CMD_DISC";
    case kCmdFlush: return "NBD_CMD_FLUSH";
    case kCmdTrim: return "NBD_CMD_TRIM";
    case kCmdCache: return "NBD_CMD_CACHE";
    case kCmdWriteZeroes: return "NBD_CMD_WRITE_ZEROES";
    case kCmdBlockStatus: return "NBD_CMD_BLOCK_STATUS";
    case kCmdResize: return "NBD_CMD_RESIZE";
  }
  return "command " + std::to_string(type);
}

}  // namespace tandem::nbd
