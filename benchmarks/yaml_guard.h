// Checking a YAML text before yaml-cpp builds its tree, and before anyone walks it.
// LibTorch-free; the targets decoder, the copy model and mpsfb_report's status file share it.
//
//   if (auto problem = yaml_hazard(text, "ops/targets.yaml")) throw TargetsError({*problem});
//   const YAML::Node root = YAML::Load(text);
//
// Note [YAML aliases and node counts]: yaml-cpp's tree shares an aliased node, so `*a` costs
// nothing to load; walking the tree (a decoder copying it into structs, an emitter writing it
// out again) expands every alias, and aliases of aliases grow geometrically: a 0.5 MB file
// reached 4 GB. A tree node also costs about 150 bytes per byte of a flow list ("1,"), so the
// file size cap alone does not bound memory. One pass over the parser's events, which builds
// no tree, counts the nodes a full walk would visit (each alias counting its anchor's nodes
// again) and stops at the first node over the limit, naming its position. The same pass
// refuses a map key given twice: yaml-cpp keeps the first and drops the second silently.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace mpsfb {

struct YamlLimits {
  // Nodes a full walk visits, aliases expanded. ops/targets.seed.yaml has 3,697, torch 2.13's
  // native_functions.yaml 27,944; 1,000,000 nodes is a few hundred MB of tree at most.
  size_t max_nodes = 1000000;
  bool allow_aliases = true;  // false for files only a program writes (they never hold one)
};

// "path:line:column: what (expected: ...)" for the first hazard of the first document: more
// nodes than the limit, an alias where none is allowed, a key given twice in one map. nullopt
// when there is none, or when the text is not valid YAML (yaml-cpp's Load then says where).
std::optional<std::string> yaml_hazard(const std::string& text, const std::string& path, const YamlLimits& limits = {});

}  // namespace mpsfb
