#include "heartbeat/inbound.h"

#include <algorithm>

#include "common/strings.h"
#include "config/ha_line_reader.h"

namespace tandem::heartbeat {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kAuth:
      return "auth";
    case DropReason::kUnknownNode:
      return "unknown_node";
    case DropReason::kSelf:
      return "self";
    case DropReason::kWrongLink:
      return "wrong_link";
    case DropReason::kReplay:
      return "replay";
  }
  return "malformed";
}

InboundFilter::InboundFilter(std::string local_node, std::vector<std::string> cluster_nodes,
                             const MessageSigner* signer)
    : local_(std::move(local_node)), nodes_(std::move(cluster_nodes)), signer_(signer) {}

InboundResult InboundFilter::Process(std::string_view bytes, const std::string& link) {
  InboundResult r;
  auto drop = [&r](DropReason reason, std::string detail) {
    r.kind = InboundResult::Kind::kDrop;
    r.reason = reason;
    r.detail = std::move(detail);
    return r;
  };
  auto message = DecodeMessage(bytes);
  if (!message.ok()) return drop(DropReason::kMalformed, message.status().message());
  if (auto src = message->Get("src")) r.claimed_src = config::Printable(*src);

  Status auth = signer_->Verify(*message);
  if (!auth.ok()) return drop(DropReason::kAuth, "authentication failed: " + auth.message());

  auto info = FromMessage(*message);
  if (!info.ok()) return drop(DropReason::kMalformed, info.status().message());
  if (info->src == local_) {
    return drop(DropReason::kSelf, "it claims to come from this node (" + local_ + ")");
  }
  if (std::find(nodes_.begin(), nodes_.end(), info->src) == nodes_.end()) {
    return drop(DropReason::kUnknownNode,
                "node [" + info->src + "] is not a node of this cluster (nodes: " +
                    Join(nodes_, ", ") + ")");
  }
  if (info->link != link) {
    return drop(DropReason::kWrongLink, "signed for link '" + config::Printable(info->link) +
                                            "' but received on '" + link + "'");
  }
  auto outcome = guard_.Check(info->src, link, info->generation, info->seq);
  switch (outcome.verdict) {
    case ReplayGuard::Verdict::kOldGeneration:
      return drop(DropReason::kReplay,
                  "attempted replay: generation " + std::to_string(info->generation) +
                      " is older than the current " +
                      std::to_string(outcome.previous_generation));
    case ReplayGuard::Verdict::kReplay:
      return drop(DropReason::kReplay, "attempted replay: sequence number " +
                                           std::to_string(info->seq) + " already seen on " +
                                           link);
    case ReplayGuard::Verdict::kDuplicate:
      r.kind = InboundResult::Kind::kDuplicate;
      r.info = std::move(info).value();
      return r;
    case ReplayGuard::Verdict::kNew:
      break;
  }
  r.kind = InboundResult::Kind::kAccept;
  r.info = std::move(info).value();
  r.restarted = outcome.restarted;
  r.previous_generation = outcome.previous_generation;
  return r;
}

}  // namespace tandem::heartbeat
