#include "meta/resource_meta.h"

namespace tandem::meta {

MetaTarget MetaTargetFor(const config::ResourceConfig& res) {
  const config::HostConfig& host = res.local();
  MetaTarget t;
  t.resource = res.name;
  t.disk_path = host.disk();
  const config::MetaDisk& m = host.meta_disk();
  switch (m.kind) {
    case config::MetaDisk::Kind::kInternal:
      t.placement = Placement::kInternal;
      t.md_path = t.disk_path;
      break;
    case config::MetaDisk::Kind::kIndexed:
      t.placement = Placement::kIndexed;
      t.md_path = m.path;
      t.index = static_cast<uint32_t>(m.index);
      break;
    case config::MetaDisk::Kind::kFlexible:
      t.placement = Placement::kFlexible;
      t.md_path = m.path;
      break;
  }
  t.al_extents = static_cast<uint32_t>(res.options.Int("al-extents"));
  t.size_limit = static_cast<uint64_t>(res.options.Int("size"));
  auto engine = io::ParseEngine(res.options.Str("io-engine"));
  if (engine.ok()) t.engine = *engine;
  return t;
}

Result<MetaDevices> OpenMetaDevices(io::IoEnv* env, boost::asio::io_context& loop,
                                    const MetaTarget& target, bool read_only) {
  io::OpenOptions opts;
  opts.engine = target.engine;
  opts.read_only = read_only;
  MetaDevices d;
  auto disk = env->Open(loop, target.disk_path, opts);
  if (!disk.ok()) return disk.status();
  d.disk = std::move(*disk);
  uint64_t md_size = d.disk->info().size_bytes;
  if (target.placement != Placement::kInternal) {
    auto md = env->Open(loop, target.md_path, opts);
    if (!md.ok()) return md.status();
    d.external_md = std::move(*md);
    md_size = d.external_md->info().size_bytes;
  }
  auto layout = ComputeLayout(target.placement, target.index, d.disk->info().size_bytes, md_size,
                              target.al_extents, target.size_limit);
  if (!layout.ok()) {
    const std::string& path =
        target.placement == Placement::kInternal ? target.disk_path : target.md_path;
    return Status::InvalidArgument(path + ": " + layout.status().message());
  }
  d.layout = *layout;
  return d;
}

}  // namespace tandem::meta
