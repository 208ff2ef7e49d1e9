#pragma once
// RunEventLoop: io_context::run() with adaptive busy polling.
//
// Why: on virtual machines (and on hosts with deep idle states) waking a
// thread that sleeps on an idle CPU costs tens of microseconds per hop: a
// 64-byte TCP round trip between two Asio loops on loopback takes 68 us when
// both sleep in epoll_wait and 8 us when both poll (2-vCPU VM, measured by
// this project). A protocol C write crosses three such hops (data to the
// peer, the peer's disk completion, the ack back), so sleeping loops add
// ~80 us to every write at queue depth 1. While requests are moving, the loop
// therefore keeps polling for `busy_poll` after the last handler it ran, and
// only then goes back to sleep. An idle daemon sleeps as before; a loaded one
// never runs out of handlers and so never spins.
//
// Contract: returns when the io_context runs out of work or is stopped, as
// run() does. Between polls the thread calls sched_yield(), so other runnable
// threads on its CPU (an NBD client, the other node) are not starved.
// busy_poll == 0 is plain run(). Thread-safety: call from the one thread that
// runs `loop`, as run().

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

namespace tandem::io {

// What tandemd uses unless told otherwise (--busy-poll-us): covers one disk
// write on an SSD plus the round trip to the peer.
inline constexpr std::chrono::microseconds kDefaultBusyPoll{200};

void RunEventLoop(boost::asio::io_context& loop, std::chrono::microseconds busy_poll);
// The same, except that the loop polls only while `worth_polling()` returns
// true (asked, on the loop's thread, each time it finds nothing to run);
// otherwise it sleeps at once. For a loop whose traffic is sometimes bulk
// transfers, where a polling thread takes CPU from the threads copying data.
void RunEventLoop(boost::asio::io_context& loop, std::chrono::microseconds busy_poll,
                  const std::function<bool()>& worth_polling);

// Disk transfers larger than kBulkIoBytes in flight in this process, counted
// by the engines (EngineDevice). tandemd's loop polls only while there are
// none: a bulk transfer takes a millisecond or more anyway, and a polling
// thread takes a CPU from the copies that move its megabytes (socket sends, the
// client's receive; docs/performance.md). Thread-safe (a relaxed atomic).
inline constexpr uint64_t kBulkIoBytes = 128 * 1024;
size_t BulkIoInFlight();
// Engines only: +1 when a bulk transfer starts, -1 when it completed.
void NoteBulkIo(int delta);

}  // namespace tandem::io
