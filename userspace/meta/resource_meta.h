#pragma once
// From a resource's configuration to its meta-data: which devices to open and
// where the area is. Shared by tandemadm's offline meta-data verbs and tandemd.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "config/drbd_model.h"
#include "io/block_device.h"
#include "io/device_factory.h"
#include "meta/layout.h"

namespace tandem::meta {

struct MetaTarget {
  std::string resource;
  std::string disk_path;  // backing disk
  std::string md_path;    // meta-data device (== disk_path when internal)
  Placement placement = Placement::kInternal;
  uint32_t index = 0xFFFFFFFFu;
  uint32_t al_extents = 1237;
  uint64_t size_limit = 0;  // disk { size }
  io::Engine engine = io::Engine::kUring;
};

// The local host's view of `res` (this node's `on` section and disk options).
MetaTarget MetaTargetFor(const config::ResourceConfig& res);

// The opened devices and the layout they imply.
struct MetaDevices {
  std::unique_ptr<io::BlockDevice> disk;
  std::unique_ptr<io::BlockDevice> external_md;  // null for internal meta-data
  MetaLayout layout;
  io::BlockDevice* md() { return external_md ? external_md.get() : disk.get(); }
};

// Opens the backing disk (and the external meta-data device) and computes the
// layout. Errors name the path or say what is too small.
Result<MetaDevices> OpenMetaDevices(io::IoEnv* env, boost::asio::io_context& loop,
                                    const MetaTarget& target, bool read_only);

}  // namespace tandem::meta
