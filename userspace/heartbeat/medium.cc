#include "heartbeat/medium.h"

#include "heartbeat/serial_medium.h"
#include "heartbeat/udp_medium.h"

namespace tandem::heartbeat {

std::unique_ptr<Medium> MakeMedium(boost::asio::io_context& loop, HbEnv* env, MediumSpec spec,
                                   Medium::Receive receive, Medium::Garbage garbage) {
  if (spec.kind == config::HaMedium::Kind::kSerial) {
    return MakeSerialMedium(loop, env, std::move(spec), std::move(receive), std::move(garbage));
  }
  return MakeUdpMedium(loop, env, std::move(spec), std::move(receive));
}

}  // namespace tandem::heartbeat
