// The keeper: a small process, one per datafix process, that kills every child's process group
// when datafix dies, however it dies. Internal to core/process.
//
// Why not PR_SET_PDEATHSIG: children are started with posix_spawn, which runs no code of ours in
// the child, so nothing can call prctl there. The death signal also reached only the direct child
// (not what a backup command started) and fired when the *thread* that started the child ended,
// not the process. The keeper is forked once (the first time a child is started) and holds one end
// of a socket pair whose other end only this process holds; each child's group is registered
// there right after it starts and removed before it is reaped (so its id cannot have been handed
// out again). When this process ends the kernel closes its end, the keeper reads end-of-file and
// sends SIGKILL to every group still registered, then exits.
//
// The one gap: a death in the microseconds between posix_spawn returning and the registration
// leaves that one child running (PR_SET_PDEATHSIG had no such gap, because it ran in the child).
#pragma once

#include <sys/types.h>

namespace datafix::process::keeper {

// Registers a child's process group. Starts the keeper when this process has none (or a fork of
// this process inherited its parent's). Never throws; without a keeper (fork failed) the group is
// simply not guarded.
void guard(pid_t group) noexcept;

// Removes a group: call once the child has exited and its group was killed, before reaping it.
void release(pid_t group) noexcept;

}  // namespace datafix::process::keeper
