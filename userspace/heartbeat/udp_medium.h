#pragma once
// The UDP media (ucast, bcast, mcast): one non-blocking socket per link, bound
// as media_plan.h decides, bound to its interface (SO_BINDTODEVICE) when it
// names one. See medium.h for the contract. Thread-safety: event-loop only.

#include <memory>

#include "heartbeat/medium.h"

namespace tandem::heartbeat {

std::unique_ptr<Medium> MakeUdpMedium(boost::asio::io_context& loop, HbEnv* env, MediumSpec spec,
                                      Medium::Receive receive);

}  // namespace tandem::heartbeat
