#pragma once
// Translation between Tandem's Status values and the NBD protocol's error
// numbers and names, used by the server (backend errors -> NBD_E*) and by the
// client (NBD_E* -> Status), so both directions agree.
//
// Mapping (Status -> NBD): InvalidArgument -> EINVAL; PermissionDenied -> EPERM;
// NotSupported -> EINVAL (the spec reserves ENOTSUP for fast zeroes, which
// Tandem does not advertise); Aborted -> ESHUTDOWN; IoError -> ENOSPC when its
// text carries strerror(ENOSPC), strerror(EDQUOT) or strerror(EFBIG) (Status
// keeps no errno, and the spec asks for ENOSPC in all three cases), else EIO;
// every other code -> EIO.
// Mapping (NBD -> Status): EPERM -> PermissionDenied; EINVAL, EOVERFLOW ->
// InvalidArgument; ENOTSUP -> NotSupported; ESHUTDOWN -> Aborted; ENOSPC ->
// IoError with strerror(ENOSPC) in the text (so it maps back to ENOSPC); EIO,
// ENOMEM and unknown values -> IoError.
// Thread-safety: pure functions.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace tandem::nbd {

uint32_t ToNbdError(const Status& status);
// `context` describes the request ("write of 4096 bytes at 0"); `server_text`
// is the server's message (structured replies), may be empty.
Status FromNbdError(uint32_t error, const std::string& context, const std::string& server_text);

// "EINVAL", "ENOSPC", ... ("error 99" for values the spec does not define).
std::string NbdErrorName(uint32_t error);
// "NBD_OPT_GO", ... ("option 99" otherwise).
std::string OptionName(uint32_t option);
// "NBD_REP_ACK", "NBD_REP_ERR_UNSUP", ...
std::string OptionReplyName(uint32_t reply_type);
// "NBD_CMD_READ", ... ("command 99" otherwise).
std::string CommandName(uint16_t type);

}  // namespace tandem::nbd
