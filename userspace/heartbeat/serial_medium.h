#pragma once
// The serial medium: a tty in raw mode at `baud`, messages framed by
// serial_framer.h. When the device fails (a null-modem cable pulled, a pty
// whose other end went away) it is closed and reopened once a second.
// See medium.h for the contract. Thread-safety: event-loop only.

#include <memory>

#include "heartbeat/medium.h"

namespace tandem::heartbeat {

std::unique_ptr<Medium> MakeSerialMedium(boost::asio::io_context& loop, HbEnv* env,
                                         MediumSpec spec, Medium::Receive receive,
                                         Medium::Garbage garbage);

}  // namespace tandem::heartbeat
