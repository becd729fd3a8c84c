// Decides which blobs of a compiled job are stored in the blocked layout (runtime/layout.h).
//
// A blob is blocked when it is a float (N, C, H, W) with C a multiple of the block, produced and
// read only where the ops' KernelDefs allow it (BlockedLayout indices, or LayoutAgnostic
// elementwise ops), and not fetched; each layout-agnostic op then gets all its tensors in one
// layout (if one of them must stay plain, all do — repeated until nothing changes). In LeNet's
// train job this keeps conv1 → pool1 → conv2 → pool2 and their gradients blocked, with reorders
// only where pool2 feeds the reshape into dense1 and where its gradient comes back.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "proto/job.pb.h"
#include "runtime/kernel_def.h"

namespace flow {

// The names of the blobs to store blocked. `defs`: each op's KernelDef, in job order; `descs`:
// every blob's shape and dtype.
std::set<std::string> BlockedBlobs(const flowrt::JobConf& job,
                                   const std::vector<const KernelDef*>& defs,
                                   const std::map<std::string, BlobDesc>& descs);

}  // namespace flow
