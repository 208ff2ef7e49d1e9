#include "ctl/protocol.h"
#include "admin/meta_commands.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "admin/config_access.h"
#include "common/env.h"
#include "io/sync_io.h"
#include "meta/format.h"
#include "meta/meta_data.h"
#include "meta/resource_meta.h"

namespace tandem::admin {

namespace {

using meta::MetaData;
using meta::Superblock;

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIX64, v);
  return buf;
}

// The flags get-gi prints after the UUIDs, in this order (docs/cli.md).
const meta::SuperblockFlag kGiFlags[] = {
    meta::kFlagConsistent,   meta::kFlagWasUpToDate, meta::kFlagPrimaryInd,
    meta::kFlagConnectedInd, meta::kFlagFullSync,    meta::kFlagPeerOutdated,
    meta::kFlagCrashedPrimary, meta::kFlagAlClean};

std::string GiLine(const Superblock& sb) {
  std::string s = Hex(sb.current_uuid) + ":" + Hex(sb.bitmap_uuid) + ":" + Hex(sb.history_uuid[0]) +
                  ":" + Hex(sb.history_uuid[1]);
  for (auto f : kGiFlags) s += sb.Has(f) ? ":1" : ":0";
  return s;
}

std::string ShowGi(const Superblock& sb) {
  std::string out;
  out += "       +--<  current data generation UUID  >-\n";
  out += "       |               +--<  bitmap's base data generation UUID  >-\n";
  out += "       |               |                 +--<  younger history UUID  >-\n";
  out += "       |               |                 |                +-<  older history  >-\n";
  out += "       V               V                 V                V\n";
  out += GiLine(sb) + "\n";
  out += "                                                                    ^ ^ ^ ^ ^ ^ ^ ^\n";
  const char* names[] = {"data consistent",    "data was up to date", "node was Primary",
                         "node was connected", "full sync requested", "peer marked Outdated",
                         "crashed while Primary", "activity log clean"};
  for (int i = 7; i >= 0; --i) {
    std::string line = "      -<  " + std::string(names[i]) + "  >";
    line.resize(68 + 2 * static_cast<size_t>(i), '-');
    line += "+";
    for (int j = i + 1; j < 8; ++j) line += " |";
    out += line + "\n";
  }
  if (sb.current_uuid == meta::kUuidJustCreated) {
    out += "\nThe current UUID is 'just created': this disk has never held replicated data.\n";
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> OutOfSyncRanges(const meta::Bitmap& bm) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t bit = bm.FindNextSet(0);
  while (bit < bm.size()) {
    uint64_t end = bm.FindNextClear(bit);
    ranges.emplace_back(bit, end - bit);
    bit = bm.FindNextSet(end);
  }
  return ranges;
}

nlohmann::json DumpJson(const MetaData& md, const meta::MetaTarget& t) {
  const Superblock& sb = md.superblock();
  const meta::MetaLayout& l = md.layout();
  nlohmann::json j;
  j["resource"] = t.resource;
  j["disk"] = t.disk_path;
  j["meta_device"] = t.md_path;
  j["placement"] = meta::PlacementName(l.placement);
  if (l.placement == meta::Placement::kIndexed) j["index"] = l.index;
  j["format_version"] = meta::kFormatVersion;
  j["sequence"] = sb.seq;
  j["flags"] = meta::DescribeFlags(sb.flags);
  j["data_size"] = l.data_size;
  j["area_offset"] = l.area_offset;
  j["area_size"] = l.area_size;
  j["device_uuid"] = Hex(sb.device_uuid);
  j["uuids"] = {{"current", Hex(sb.current_uuid)},
                {"bitmap", Hex(sb.bitmap_uuid)},
                {"history", {Hex(sb.history_uuid[0]), Hex(sb.history_uuid[1])}}};
  j["activity_log"] = {{"al_extents", md.activity_log().al_extents()},
                       {"ring_slots", l.al_slots},
                       {"last_transaction", md.activity_log().last_seq()},
                       {"hot_extents", md.activity_log().HotExtents()}};
  nlohmann::json ranges = nlohmann::json::array();
  for (auto [first, count] : OutOfSyncRanges(md.bitmap())) {
    ranges.push_back({{"offset", first * meta::kBitmapGranularity},
                      {"length", count * meta::kBitmapGranularity}});
  }
  j["bitmap"] = {{"bits", md.bitmap().size()},
                 {"pages", l.bm_pages},
                 {"out_of_sync_bits", md.bitmap().CountSet()},
                 {"out_of_sync_bytes", md.bitmap().CountSet() * meta::kBitmapGranularity},
                 {"out_of_sync_ranges", ranges}};
  return j;
}

std::string DumpText(const MetaData& md, const meta::MetaTarget& t) {
  const Superblock& sb = md.superblock();
  const meta::MetaLayout& l = md.layout();
  std::string o;
  o += "# Tandem meta-data of resource " + t.resource + " (disk " + t.disk_path + ", meta-data " +
       meta::PlacementName(l.placement) + " on " + t.md_path + ")\n";
  o += "version " + std::to_string(meta::kFormatVersion) + ";\n";
  o += "sequence " + std::to_string(sb.seq) + ";\n";
  o += "flags " + meta::DescribeFlags(sb.flags) + ";\n";
  o += "data-size " + std::to_string(l.data_size) + ";  # " + meta::DescribeBytes(l.data_size) +
       "\n";
  o += "area " + std::to_string(l.area_offset) + " " + std::to_string(l.area_size) +
       ";  # offset and size on the meta-data device\n";
  o += "device-uuid " + Hex(sb.device_uuid) + ";\n";
  o += "uuids { current " + Hex(sb.current_uuid) + "; bitmap " + Hex(sb.bitmap_uuid) +
       "; history " + Hex(sb.history_uuid[0]) + " " + Hex(sb.history_uuid[1]) + "; }\n";
  o += "activity-log { al-extents " + std::to_string(md.activity_log().al_extents()) +
       "; ring-slots " + std::to_string(l.al_slots) + "; last-transaction " +
       std::to_string(md.activity_log().last_seq()) + "; hot-extents";
  for (uint32_t e : md.activity_log().HotExtents()) o += " " + std::to_string(e);
  o += "; }\n";
  const meta::Bitmap& bm = md.bitmap();
  o += "bitmap { bits " + std::to_string(bm.size()) + "; pages " + std::to_string(l.bm_pages) +
       "; out-of-sync " + std::to_string(bm.CountSet()) + ";  # " +
       meta::DescribeBytes(bm.CountSet() * meta::kBitmapGranularity) + "\n";
  for (auto [first, count] : OutOfSyncRanges(bm)) {
    o += "  range " + std::to_string(first * meta::kBitmapGranularity) + " " +
         std::to_string(count * meta::kBitmapGranularity) + ";\n";
  }
  o += "}\n";
  return o;
}

// One resource: open the devices, do the verb, wait until the devices are idle.
class MetaVerbRunner {
 public:
  MetaVerbRunner(MetaVerb verb, const AdminOptions& options, bool force, std::ostream& out,
                 std::ostream& err)
      : verb_(verb), options_(options), force_(force), out_(out), err_(err) {}

  int Run(const config::ResourceConfig& res) {
    meta::MetaTarget target = meta::MetaTargetFor(res);
    const bool read_only = verb_ == MetaVerb::kDumpMd || verb_ == MetaVerb::kShowGi ||
                           verb_ == MetaVerb::kGetGi;
    auto devs = meta::OpenMetaDevices(io::IoEnv::Default(), loop_, target, read_only);
    if (!devs.ok()) return Fail(res.name, devs.status());
    int rc = RunOn(target, *devs);
    io::WaitUntilIdle(loop_, *devs->disk, std::chrono::seconds(30));
    if (devs->external_md) io::WaitUntilIdle(loop_, *devs->external_md, std::chrono::seconds(30));
    return rc;
  }

 private:
  int Fail(const std::string& res, const Status& st) {
    err_ << "tandemadm: " << res << ": " << st.message() << "\n";
    return kExitFailed;
  }

  Result<Superblock> ReadSuperblock(meta::MetaDevices& d) {
    bool done = false;
    Result<Superblock> sb = Status::Timeout("reading the superblock took too long");
    MetaData::ReadSuperblock(loop_, d.md(), d.layout, [&](Result<Superblock> r) {
      sb = std::move(r);
      done = true;
    });
    io::RunLoopUntil(loop_, &done, std::chrono::seconds(60));
    return sb;
  }

  Result<std::unique_ptr<MetaData>> Open(meta::MetaDevices& d) {
    bool done = false;
    Result<std::unique_ptr<MetaData>> md = Status::Timeout("reading the meta-data took too long");
    MetaData::Open(loop_, d.md(), d.layout, [&](Result<std::unique_ptr<MetaData>> r) {
      md = std::move(r);
      done = true;
    });
    io::RunLoopUntil(loop_, &done, std::chrono::seconds(300));
    return md;
  }

  Status Wait(const std::function<void(io::IoCallback)>& op) {
    bool done = false;
    Status st = Status::Timeout("the meta-data update took too long");
    op([&](Status s) {
      st = s;
      done = true;
    });
    io::RunLoopUntil(loop_, &done, std::chrono::seconds(300));
    return st;
  }

  int RunOn(const meta::MetaTarget& t, meta::MetaDevices& d) {
    const std::string& name = t.resource;
    switch (verb_) {
      case MetaVerb::kCreateMd: {
        auto existing = ReadSuperblock(d);
        if (existing.ok() && !force_) {
          return Fail(name, Status::Busy(
                                "valid meta-data found on " + t.md_path + " (current UUID " +
                                Hex(existing->current_uuid) + ", " +
                                meta::DescribeBytes(existing->layout.data_size) +
                                " of data); use --force to overwrite it (the data then needs a "
                                "full sync)"));
        }
        out_ << "Writing meta data for " << name << " (" << meta::PlacementName(d.layout.placement)
             << " on " << t.md_path << ", " << meta::DescribeBytes(d.layout.data_size)
             << " of data)...\n";
        out_ << "initializing activity log (" << d.layout.al_extents << " extents)\n";
        out_ << "initializing bitmap (" << meta::DescribeBytes(d.layout.bm_pages * 4096)
             << ") to all out of sync\n";
        uint64_t uuid = Env::Default()->RandomU64();
        Status st = Wait([&](io::IoCallback cb) {
          MetaData::Create(loop_, d.md(), d.layout, uuid, std::move(cb));
        });
        if (!st.ok()) return Fail(name, st);
        out_ << "New Tandem meta data block successfully created.\n";
        return kExitOk;
      }
      case MetaVerb::kGetGi:
      case MetaVerb::kShowGi: {
        auto sb = ReadSuperblock(d);
        if (!sb.ok()) return Fail(name, sb.status());
        if (options_.json) {
          nlohmann::json j{{"resource", name},
                           {"current", Hex(sb->current_uuid)},
                           {"bitmap", Hex(sb->bitmap_uuid)},
                           {"history", {Hex(sb->history_uuid[0]), Hex(sb->history_uuid[1])}},
                           {"flags", meta::DescribeFlags(sb->flags)}};
          out_ << ctl::JsonText(j, 2) << "\n";
        } else {
          out_ << (verb_ == MetaVerb::kGetGi ? GiLine(*sb) + "\n" : ShowGi(*sb));
        }
        return kExitOk;
      }
      case MetaVerb::kDumpMd: {
        auto md = Open(d);
        if (!md.ok()) return Fail(name, md.status());
        out_ << (options_.json ? ctl::JsonText(DumpJson(**md, t), 2) + "\n" : DumpText(**md, t));
        return kExitOk;
      }
      case MetaVerb::kApplyAl: {
        auto md = Open(d);
        if (!md.ok()) return Fail(name, md.status());
        size_t hot = (*md)->activity_log().HotExtents().size();
        uint64_t before = (*md)->bitmap().CountSet();
        Status st = Wait([&](io::IoCallback cb) { (*md)->ApplyActivityLog(std::move(cb)); });
        if (!st.ok()) return Fail(name, st);
        out_ << name << ": " << hot << " activity-log extents applied, "
             << ((*md)->bitmap().CountSet() - before) * meta::kBitmapGranularity / 1024
             << " KiB newly marked out of sync; activity log clean\n";
        return kExitOk;
      }
      case MetaVerb::kWipeMd: {
        if (!force_) {
          return Fail(name, Status::Aborted("wipe-md destroys the meta-data on " + t.md_path +
                                            "; add --force to confirm"));
        }
        Status st = Wait([&](io::IoCallback cb) {
          MetaData::Wipe(loop_, d.md(), d.layout, std::move(cb));
        });
        if (!st.ok()) return Fail(name, st);
        out_ << "Wiped meta-data of " << name << " on " << t.md_path << ".\n";
        return kExitOk;
      }
    }
    return kExitFailed;
  }

  boost::asio::io_context loop_;
  MetaVerb verb_;
  const AdminOptions& options_;
  bool force_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

int RunMetaVerb(MetaVerb verb, const AdminOptions& options,
                const std::vector<std::string>& resources, bool force, std::ostream& out,
                std::ostream& err) {
  auto cfg = LoadAdminConfig(options, err);
  if (!cfg.ok()) return kExitConfigInvalid;
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) {
    err << "tandemadm: " << selected.status().message() << "\n";
    return kExitConfigInvalid;
  }
  int rc = kExitOk;
  for (const config::ResourceConfig* res : *selected) {
    MetaVerbRunner runner(verb, options, force, out, err);
    int r = runner.Run(*res);
    if (r != kExitOk) rc = r;
  }
  return rc;
}

}  // namespace tandem::admin
