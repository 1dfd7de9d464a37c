// mpsfb_report --update-targets ops/targets.yaml RUN.json: records what a run found out about
// each op (falls back here, native, error; the inner ops that fell back; its MPS verdict) in a
// status file beside the targets file, ops/targets.status.yaml.
//
// Note [Why a separate status file]: targets.yaml is curated by hand and carries comments;
// yaml-cpp drops comments when it writes, so rewriting it would lose them. The status file is
// entirely generated: one entry per op and machine (device, device name, OS, torch version,
// fallback mode); a new run replaces its machine's entry and keeps the others.
#pragma once

#include "demand.h"
#include "model.h"

#include <string>
#include <vector>

namespace mpsfb::report {

// "ops/targets.yaml" -> "ops/targets.status.yaml"
std::string status_path_for(const std::string& targets_path);

// The new status file's text, given the existing one's ("" when there is none; `status_path`
// names it in errors). Ops of the run that are not in the targets file are left out and
// listed in `notes`. Throws when the run has nothing to record (CPU-only) or the existing
// file cannot be read.
std::string updated_status(const std::string& existing, const std::string& status_path, const TargetsDemand& targets,
                           const Model& run, std::vector<std::string>* notes);

}  // namespace mpsfb::report
