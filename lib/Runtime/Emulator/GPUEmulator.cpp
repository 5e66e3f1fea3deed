//===- GPUEmulator.cpp - Host execution of kvq's GPU kernels --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// libkvq_gpu_emulator: the mgpu* functions of MLIR's gpu-to-llvm host code
// over host memory, and the runtime of kernels lowered by
// kvq-emulate-gpu-kernels. A launch runs its CTAs one after another on the
// calling thread; a CTA's threads are fibers (Fiber.h) scheduled
// round-robin, each running until it waits: at a CTA barrier (released
// when every thread that has not exited arrived), at a warp-synchronous
// instruction (completed when every lane of its member mask arrived; the
// last lane computes every lane's result) or at its exit. Nothing else
// interleaves threads, so results are deterministic.
//
// Shared memory is one host buffer per CTA, filled with 0xff bytes (NaN for
// floating-point reads) when the CTA starts. Every shared-memory access of
// an emulated kernel goes through __kvq_emu_shared_access, which checks
// bounds and alignment and, with KVQ_EMU_CHECK, keeps a shadow byte per
// shared byte for the race and initialization checks. cp.async copies read
// their source when issued and write shared memory when their group is
// waited for, so a kernel that reads a block before waiting for it sees
// stale data, as it may on a GPU.
//
//===----------------------------------------------------------------------===//

#include "Fiber.h"
#include "Mma.h"

#include "kvq/Runtime/kvq_gpu_emulator.h"

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#define KVQ_EXPORT extern "C" __attribute__((visibility("default")))

using namespace kvq::emu;

namespace {

//===----------------------------------------------------------------------===//
// Errors, options, statistics
//===----------------------------------------------------------------------===//

std::mutex errorMutex;
std::atomic<int32_t> lastError{0};
std::string lastMessage;

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char buffer[1024];
  vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  return buffer;
}

/// Keeps the first error (sticky until kvqCudaClearError) and prints every
/// error on stderr.
void recordError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  std::fprintf(stderr, "kvq gpu emulator: %s\n", message.c_str());
  if (lastError.load() != 0)
    return;
  lastError.store(-1);
  lastMessage = message;
}

uint32_t checksFromEnvironment() {
  const char *env = std::getenv("KVQ_EMU_CHECK");
  if (!env)
    return 0;
  uint32_t checks = 0;
  std::string list(env);
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos)
      end = list.size();
    std::string item = list.substr(start, end - start);
    if (item == "race")
      checks |= KVQ_EMU_CHECK_RACE;
    else if (item == "init")
      checks |= KVQ_EMU_CHECK_INIT;
    else if (item == "all")
      checks |= KVQ_EMU_CHECK_RACE | KVQ_EMU_CHECK_INIT;
    else if (!item.empty() && item != "none")
      std::fprintf(stderr,
                   "kvq gpu emulator: ignoring unknown KVQ_EMU_CHECK item "
                   "'%s' (race, init, all, none)\n",
                   item.c_str());
    start = end + 1;
  }
  return checks;
}

std::atomic<uint32_t> enabledChecks{checksFromEnvironment()};

struct Stats {
  std::atomic<uint64_t> launches{0}, blocks{0}, threads{0}, switches{0},
      collectives{0}, barriers{0}, hazards{0};
} stats;

size_t stackBytes() {
  static const size_t bytes = [] {
    const char *env = std::getenv("KVQ_EMU_STACK_KB");
    long kb = env ? std::atol(env) : 0;
    return static_cast<size_t>(kb > 0 ? kb : 256) * 1024;
  }();
  return bytes;
}

//===----------------------------------------------------------------------===//
// Kernels and modules
//===----------------------------------------------------------------------===//

struct Kernel {
  std::string module, name;
  kvq_emu_entry entry;
  int64_t staticShared;
  int64_t numParams;  // -1: not checked
  int32_t maxThreads; // 0: no limit beyond the hardware's
};

/// Kernels registered by the libraries loaded, by (module text, name).
/// Identical modules of different libraries have the same text (it holds a
/// hash of their code) and share a key: any of their entries will do.
struct Registry {
  std::mutex mutex;
  std::multimap<std::pair<std::string, std::string>, std::unique_ptr<Kernel>>
      kernels;
};
Registry &registry() {
  static Registry *r = new Registry; // outlives the libraries' destructors
  return *r;
}

constexpr const char kModuleMagic[] = "kvq-gpu-emulator-module:";

struct Module {
  std::string text;
};

//===----------------------------------------------------------------------===//
// Launch state
//===----------------------------------------------------------------------===//

enum class State : uint8_t { Fresh, Ready, Running, Waiting, Exited };
enum class Coll : uint8_t { Shfl, Vote, SyncWarp, Mma, LdMatrix, MovMatrix };

const char *collectiveName(Coll kind) {
  switch (kind) {
  case Coll::Shfl:
    return "shfl.sync";
  case Coll::Vote:
    return "vote.sync";
  case Coll::SyncWarp:
    return "bar.warp.sync";
  case Coll::Mma:
    return "mma.sync";
  case Coll::LdMatrix:
    return "ldmatrix";
  case Coll::MovMatrix:
    return "movmatrix";
  }
  return "?";
}

struct AsyncCopy {
  char *dst;
  uint8_t data[16];
  uint8_t size;
  uint32_t issueEpoch;
  // The issuing lane's last bar.warp.sync when it issued (see WarpSync).
  uint32_t issueSyncSeq, issueSyncMask;
};

struct Thread {
  FiberContext context;
  Stack stack;
  uint32_t x, y, z, linear, lane, warp;
  State state;
  bool atBarrier; // waiting at a CTA barrier (else at a warp one)
  int32_t barrierId;
  int32_t barrierResult;
  // cp.async copies in flight, oldest first from copyHead, and the sizes
  // of the committed groups among them, oldest first from groupHead.
  std::vector<AsyncCopy> copies;
  std::vector<uint32_t> groups;
  uint32_t copyHead, groupHead;
  uint32_t committed; // copies in committed groups, not yet completed

  void resetCopies() {
    copies.clear();
    groups.clear();
    copyHead = groupHead = committed = 0;
  }
};

/// A warp-synchronous instruction some lanes wait in.
struct Pending {
  Coll kind;
  uint32_t mask, arrived;
  const void *site;
  int32_t params[8];
};

/// bar.warp.sync orders the shared-memory accesses of its member lanes
/// (CUDA: __syncwarp is a memory fence among them). Each completed one gets
/// the warp's next sequence number; a lane remembers the last one it took
/// part in and its member mask. An access of lane a recorded at sequence
/// number s happens before lane b's access now when b's last bar.warp.sync
/// came after s and included a.
struct WarpSync {
  uint32_t seq = 0;
  uint32_t laneSeq[32] = {};
  uint32_t laneMask[32] = {};
};

struct Warp {
  uint32_t lanes;  // lanes that exist
  uint32_t exited; // lanes that exited
  WarpSync sync;
  std::vector<Pending> pending;
  uint32_t in[32][16];
  uint32_t out[32][8];
  void *address[32];
};

struct Barrier {
  uint32_t arrived;
  int32_t count; // -1: every thread that has not exited
  const void *site;
  uint32_t siteThread;
  bool divergent;
  uint32_t divergentThread;
  int32_t op;
  uint32_t popc, all, any;
};

/// Shadow state of one shared-memory byte (KVQ_EMU_CHECK).
struct ShadowByte {
  uint32_t writeEpoch, readEpoch; // 0: never
  uint32_t writeSeq, readSeq;     // the accessing warp's WarpSync::seq
  uint16_t writer, reader, asyncWriter;
  uint8_t asyncCount; // cp.async copies in flight to this byte
  uint8_t flags;
};
constexpr uint8_t kSeveralReaders = 1, kAtomicWrite = 2, kAsyncWrite = 4,
                  kReadersInWarps = 8; // several readers, not all in one warp

/// How the last writer of a byte wrote it.
const char *writeKind(const ShadowByte &s) {
  return (s.flags & kAsyncWrite)    ? "copies to it with cp.async"
         : (s.flags & kAtomicWrite) ? "updates it atomically"
                                    : "writes it";
}

struct Launch {
  const Kernel *kernel;
  void **params;
  uint32_t grid[3], block[3], ctaid[3];
  uint32_t numThreads;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  char *shared = nullptr;
  size_t sharedBytes = 0, dynamicShared = 0;
  std::vector<ShadowByte> shadow;
  uint32_t checks = 0;
  uint32_t live = 0;
  uint32_t epoch = 1;
  Barrier barriers[16];
  FiberContext scheduler;
  Thread *running = nullptr;
  bool aborted = false;
};

thread_local Launch *current = nullptr;
thread_local StackPool stackPool;

/// "kernel 'k' (module m), block (x, y, z)".
/// The module's name in its text "kvq-gpu-emulator-module:<name>:<hash>".
std::string moduleName(const Kernel &k) {
  std::string name = k.module;
  size_t magic = sizeof(kModuleMagic) - 1;
  if (name.compare(0, magic, kModuleMagic) == 0)
    name = name.substr(magic, name.rfind(':') - magic);
  return name;
}

std::string where(const Launch &l) {
  return format("kernel '%s' (module %s), block (%u, %u, %u)",
                l.kernel->name.c_str(), moduleName(*l.kernel).c_str(),
                l.ctaid[0], l.ctaid[1], l.ctaid[2]);
}
std::string who(const Thread &t) {
  return format("thread (%u, %u, %u)", t.x, t.y, t.z);
}

Launch &launch() {
  if (!current) {
    std::fprintf(stderr, "kvq gpu emulator: a device function was called "
                         "outside of a kernel launch\n");
    std::abort();
  }
  return *current;
}

/// Records `message` and abandons the launch: the calling fiber never
/// resumes (nothing on its stack needs destruction: messages are built in
/// fixed buffers).
[[noreturn]] void failInKernel(Launch &l, const char *message) {
  recordError(where(l) + ": " + message);
  l.aborted = true;
  Thread &t = *l.running;
  t.state = State::Waiting;
  switchFiber(t.context, l.scheduler);
  std::abort(); // never resumed
}
#define KVQ_FAIL(l, ...)                                                       \
  do {                                                                         \
    char message_[1024];                                                       \
    snprintf(message_, sizeof(message_), __VA_ARGS__);                         \
    failInKernel(l, message_);                                                 \
  } while (0)

/// Suspends the running thread until the scheduler resumes it.
void suspend(Launch &l, Thread &t) {
  t.state = State::Waiting;
  switchFiber(t.context, l.scheduler);
}

void makeReady(Thread &t) {
  if (t.state == State::Waiting)
    t.state = State::Ready;
}

//===----------------------------------------------------------------------===//
// Shared-memory checks
//===----------------------------------------------------------------------===//

/// Reports a hazard between thread `first` (or, when it is `second`
/// itself, other threads) and thread `second` at shared byte `offset`.
[[noreturn]] void hazard(Launch &l, const char *kind, size_t offset,
                         uint32_t first, const char *firstWhat, uint32_t second,
                         const char *secondWhat) {
  ++stats.hazards;
  const Thread &a = l.threads[first], &b = l.threads[second];
  char other[64];
  if (first == second)
    snprintf(other, sizeof(other), "other threads");
  else
    snprintf(other, sizeof(other), "thread (%u, %u, %u)", a.x, a.y, a.z);
  KVQ_FAIL(l,
           "shared-memory %s hazard at byte %zu: %s %s and %s %s with no "
           "barrier between them",
           kind, offset, other, firstWhat, who(b).c_str(), secondWhat);
}

/// Whether an access of thread `earlier` recorded at its warp's sequence
/// number `seq` (in the current barrier epoch) happens before what thread
/// `later` does now: both in one warp, with a bar.warp.sync of both since.
/// `laterSeq` / `laterMask`: the later lane's last bar.warp.sync (for a
/// cp.async, the one before its issue).
bool warpOrdered(const Launch &l, uint32_t earlier, uint32_t seq,
                 const Thread &later, uint32_t laterSeq, uint32_t laterMask) {
  const Thread &e = l.threads[earlier];
  return e.warp == later.warp && laterSeq > seq && (laterMask & (1u << e.lane));
}
/// Whether every read of byte `s` since the last barrier happens before
/// what `later` does now (or, for a cp.async, did at its issue:
/// `laterSeq` / `laterMask`): one reader, ordered by warpOrdered, or
/// several readers of `later`'s warp and a bar.warp.sync of the whole warp
/// since.
bool readsOrdered(const Launch &l, const ShadowByte &s, const Thread &later,
                  uint32_t laterSeq, uint32_t laterMask) {
  if (!(s.flags & kSeveralReaders))
    return warpOrdered(l, s.reader, s.readSeq, later, laterSeq, laterMask);
  const Warp &w = l.warps[later.warp];
  return !(s.flags & kReadersInWarps) &&
         l.threads[s.reader].warp == later.warp && laterSeq > s.readSeq &&
         (laterMask & w.lanes) == w.lanes;
}

bool warpOrdered(const Launch &l, uint32_t earlier, uint32_t seq,
                 const Thread &later) {
  const WarpSync &sync = l.warps[later.warp].sync;
  return warpOrdered(l, earlier, seq, later, sync.laneSeq[later.lane],
                     sync.laneMask[later.lane]);
}

void checkRead(Launch &l, Thread &t, size_t offset, size_t size) {
  uint32_t me = t.linear;
  for (size_t i = offset; i < offset + size; ++i) {
    ShadowByte &s = l.shadow[i];
    if (l.checks & KVQ_EMU_CHECK_RACE) {
      if (s.asyncCount) {
        if (s.asyncWriter == me)
          KVQ_FAIL(l,
                   "%s reads byte %zu of shared memory, which a cp.async of "
                   "its own has not written yet (no cp.async.wait_group "
                   "covering it)",
                   who(t).c_str(), i);
        hazard(l, "read-after-write", i, s.asyncWriter,
               "copies to it with cp.async", me, "reads it");
      }
      if (s.writeEpoch == l.epoch && s.writer != me &&
          !warpOrdered(l, s.writer, s.writeSeq, t))
        hazard(l, "read-after-write", i, s.writer, writeKind(s), me,
               "reads it");
    }
    if ((l.checks & KVQ_EMU_CHECK_INIT) && s.writeEpoch == 0)
      KVQ_FAIL(l,
               "%s reads byte %zu of shared memory, which no thread of the "
               "block has written",
               who(t).c_str(), i);
    uint32_t seq = l.warps[t.warp].sync.seq;
    const WarpSync &sync = l.warps[t.warp].sync;
    if (s.readEpoch == l.epoch &&
        (s.reader != me || (s.flags & kSeveralReaders)) &&
        !readsOrdered(l, s, t, sync.laneSeq[t.lane], sync.laneMask[t.lane])) {
      // Concurrent readers (the earlier reads are not ordered before this one).
      if (s.reader != me || (s.flags & kSeveralReaders))
        s.flags |= kSeveralReaders;
      if (l.threads[s.reader].warp != t.warp)
        s.flags |= kReadersInWarps;
      s.reader = static_cast<uint16_t>(me);
    } else {
      s.readEpoch = l.epoch;
      s.reader = static_cast<uint16_t>(me);
      s.flags &= ~(kSeveralReaders | kReadersInWarps);
    }
    s.readSeq = seq;
  }
}

/// A write of [offset, offset + size) that may have happened at any time
/// since epoch `since` (a cp.async: since it was issued).
void checkWrite(Launch &l, Thread &t, size_t offset, size_t size,
                uint32_t since, uint32_t sinceSeq, uint32_t sinceMask,
                bool atomic, bool async, const char *what) {
  uint32_t me = t.linear;
  for (size_t i = offset; i < offset + size; ++i) {
    ShadowByte &s = l.shadow[i];
    if (l.checks & KVQ_EMU_CHECK_RACE) {
      if (s.asyncCount && s.asyncWriter != me)
        hazard(l, "write-after-write", i, s.asyncWriter,
               "copies to it with cp.async", me, what);
      if (s.asyncCount && !async)
        KVQ_FAIL(l,
                 "%s writes byte %zu of shared memory, which a cp.async of "
                 "its own has not written yet (no cp.async.wait_group "
                 "covering it: the copy may land after the write)",
                 who(t).c_str(), i);
      bool bothAtomic = atomic && (s.flags & kAtomicWrite);
      if (s.writeEpoch && s.writeEpoch >= since && s.writer != me &&
          !bothAtomic &&
          !(s.writeEpoch == since &&
            warpOrdered(l, s.writer, s.writeSeq, t, sinceSeq, sinceMask)))
        hazard(l, "write-after-write", i, s.writer, writeKind(s), me, what);
      if (s.readEpoch && s.readEpoch >= since &&
          (s.reader != me || (s.flags & kSeveralReaders)) && !atomic &&
          !(s.readEpoch == since && readsOrdered(l, s, t, sinceSeq, sinceMask)))
        hazard(l, "write-after-read", i, s.reader, "read it", me, what);
    }
    s.writeSeq = l.warps[t.warp].sync.seq;
    s.writeEpoch = l.epoch;
    s.writer = static_cast<uint16_t>(me);
    s.flags = (s.flags & kSeveralReaders) | (atomic ? kAtomicWrite : 0) |
              (async ? kAsyncWrite : 0);
  }
}

/// Checks that [address, address + size) lies in the CTA's shared memory
/// and is aligned to `alignment`; returns its offset.
size_t sharedOffset(Launch &l, Thread &t, const void *address, int64_t size,
                    int64_t alignment, const char *what) {
  auto a = reinterpret_cast<uintptr_t>(address);
  auto base = reinterpret_cast<uintptr_t>(l.shared);
  if (size < 0 || a < base || a - base > l.sharedBytes ||
      static_cast<uint64_t>(size) > l.sharedBytes - (a - base))
    KVQ_FAIL(l,
             "%s: %s of %" PRId64 " bytes at shared-memory offset %" PRId64
             " is out of range (the block has %zu bytes of shared memory: "
             "%zu static, %zu dynamic)",
             who(t).c_str(), what, size, static_cast<int64_t>(a - base),
             l.sharedBytes, l.sharedBytes - l.dynamicShared, l.dynamicShared);
  if (alignment > 1 && a % static_cast<uint64_t>(alignment) != 0)
    KVQ_FAIL(l,
             "%s: misaligned %s of %" PRId64 " bytes at shared-memory offset "
             "%zu (needs %" PRId64 "-byte alignment)",
             who(t).c_str(), what, size, static_cast<size_t>(a - base),
             alignment);
  return a - base;
}

//===----------------------------------------------------------------------===//
// Asynchronous copies
//===----------------------------------------------------------------------===//

void completeCopy(Launch &l, Thread &t, const AsyncCopy &c) {
  std::memcpy(c.dst, c.data, c.size);
  if (!l.checks)
    return;
  size_t offset = c.dst - l.shared;
  for (size_t i = offset; i < offset + c.size; ++i)
    --l.shadow[i].asyncCount;
  checkWrite(l, t, offset, c.size, c.issueEpoch, c.issueSyncSeq,
             c.issueSyncMask, false, true, "copies to it with cp.async");
}

/// Completes the oldest committed groups until at most `keep` are pending.
void waitGroups(Launch &l, Thread &t, uint32_t keep) {
  while (t.groups.size() - t.groupHead > keep) {
    uint32_t n = t.groups[t.groupHead++];
    t.committed -= n;
    for (uint32_t i = 0; i < n; ++i)
      completeCopy(l, t, t.copies[t.copyHead++]);
  }
  if (t.copyHead == t.copies.size() && t.groupHead == t.groups.size())
    t.resetCopies();
}

//===----------------------------------------------------------------------===//
// Barriers and warp-synchronous instructions
//===----------------------------------------------------------------------===//

void releaseBarrier(Launch &l, int id) {
  Barrier &b = l.barriers[id];
  if (b.divergent) {
    const Thread &a = l.threads[b.siteThread],
                 &c = l.threads[b.divergentThread];
    KVQ_FAIL(l,
             "divergent barrier: %s and %s wait at different bar.sync "
             "instructions (barrier %d)",
             who(a).c_str(), who(c).c_str(), id);
  }
  int32_t result = 0;
  if (b.op == 0)
    result = static_cast<int32_t>(b.popc);
  else if (b.op == 1)
    result = b.all;
  else if (b.op == 2)
    result = b.any;
  for (Thread &t : l.threads)
    if (t.state != State::Exited && t.atBarrier && t.barrierId == id) {
      t.atBarrier = false;
      t.barrierResult = result;
      makeReady(t);
    }
  if (l.running) {
    l.running->atBarrier = false;
    l.running->barrierResult = result;
  }
  b = Barrier();
  ++l.epoch;
  ++stats.barriers;
}

int32_t arriveAtBarrier(Launch &l, Thread &t, int32_t id, int32_t count,
                        int32_t op, int32_t predicate, const void *site) {
  if (id < 0 || id > 15)
    KVQ_FAIL(l, "%s: barrier id %d out of range (0-15)", who(t).c_str(), id);
  if (count >= 0 && (count % 32 != 0 || count == 0 ||
                     static_cast<uint32_t>(count) > l.numThreads + 31))
    KVQ_FAIL(l,
             "%s: bar.sync with a thread count of %d (must be a multiple of "
             "32, at most the block's %u threads rounded up)",
             who(t).c_str(), count, l.numThreads);
  Barrier &b = l.barriers[id];
  if (b.arrived == 0) {
    b.count = count;
    b.site = site;
    b.siteThread = t.linear;
    b.op = op;
    b.all = 1;
  } else {
    if (b.count != count || b.op != op)
      KVQ_FAIL(l,
               "divergent barrier: %s and %s use barrier %d with different "
               "thread counts or reductions",
               who(l.threads[b.siteThread]).c_str(), who(t).c_str(), id);
    if (site != b.site && !b.divergent) {
      b.divergent = true;
      b.divergentThread = t.linear;
    }
  }
  ++b.arrived;
  b.popc += predicate != 0;
  b.all &= predicate != 0;
  b.any |= predicate != 0;
  t.atBarrier = true;
  t.barrierId = id;
  uint32_t expected = count < 0 ? l.live : static_cast<uint32_t>(count);
  if (b.arrived >= expected)
    releaseBarrier(l, id);
  else
    suspend(l, t);
  return t.barrierResult;
}

/// After thread `t` exited: barriers waiting for all threads may be
/// complete now; lanes waiting for `t` in a warp instruction never will.
void onExit(Launch &l, Thread &t) {
  // Copies still in flight land (and are checked) now.
  while (t.copyHead < t.copies.size())
    completeCopy(l, t, t.copies[t.copyHead++]);
  t.resetCopies();
  --l.live;
  Warp &w = l.warps[t.warp];
  w.exited |= 1u << t.lane;
  for (const Pending &p : w.pending)
    if (p.mask & (1u << t.lane))
      KVQ_FAIL(l,
               "%s exited while lanes of its warp wait for it in %s (member "
               "mask 0x%08x, arrived 0x%08x)",
               who(t).c_str(), collectiveName(p.kind), p.mask, p.arrived);
  for (int id = 0; id < 16; ++id) {
    Barrier &b = l.barriers[id];
    if (b.arrived && b.count < 0 && b.arrived >= l.live)
      releaseBarrier(l, id);
  }
}

void completeCollective(Launch &l, Warp &w, const Pending &p);

/// Lane `t` arrives at a warp-synchronous instruction; returns when every
/// lane of `mask` arrived and the results are in w.out. `aligned`: every
/// lane must execute the same instruction (mma.sync, ldmatrix).
void arriveAtWarp(Launch &l, Thread &t, Coll kind, uint32_t mask,
                  const void *site, bool aligned, const int32_t *params,
                  int numParams) {
  Warp &w = l.warps[t.warp];
  uint32_t bit = 1u << t.lane;
  if (!(mask & bit))
    KVQ_FAIL(l,
             "%s executes %s with member mask 0x%08x, which excludes its "
             "own lane %u",
             who(t).c_str(), collectiveName(kind), mask, t.lane);
  if (mask & ~w.lanes)
    KVQ_FAIL(l,
             "%s executes %s with member mask 0x%08x, which names lanes that "
             "do not exist (the warp has lanes 0x%08x)",
             who(t).c_str(), collectiveName(kind), mask, w.lanes);
  if (mask & w.exited)
    KVQ_FAIL(l,
             "%s executes %s with member mask 0x%08x, which names lanes that "
             "exited (0x%08x)",
             who(t).c_str(), collectiveName(kind), mask, mask & w.exited);
  Pending *p = nullptr;
  for (Pending &q : w.pending)
    if (q.mask & bit)
      p = &q;
  if (p) {
    bool same = p->kind == kind && p->mask == mask &&
                (!aligned || p->site == site) &&
                std::equal(params, params + numParams, p->params);
    if (!same)
      KVQ_FAIL(l,
               "divergent warp: %s executes %s (member mask 0x%08x) while "
               "lanes 0x%08x of its warp wait in %s (member mask 0x%08x)",
               who(t).c_str(), collectiveName(kind), mask, p->arrived,
               collectiveName(p->kind), p->mask);
  } else {
    for (const Pending &q : w.pending)
      if (q.mask & mask)
        KVQ_FAIL(l,
                 "divergent warp: %s executes %s with member mask 0x%08x "
                 "while lanes 0x%08x wait in %s with the overlapping mask "
                 "0x%08x",
                 who(t).c_str(), collectiveName(kind), mask, q.arrived,
                 collectiveName(q.kind), q.mask);
    w.pending.push_back(Pending{kind, mask, 0, site, {}});
    p = &w.pending.back();
    std::copy(params, params + numParams, p->params);
  }
  p->arrived |= bit;
  if (p->arrived != mask) {
    suspend(l, t);
    return;
  }
  Pending done = *p;
  w.pending.erase(w.pending.begin() + (p - w.pending.data()));
  completeCollective(l, w, done);
  for (uint32_t lane = 0; lane < 32; ++lane)
    if ((done.mask & (1u << lane)) && lane != t.lane)
      makeReady(l.threads[t.warp * 32 + lane]);
  ++stats.collectives;
}

void completeCollective(Launch &l, Warp &w, const Pending &p) {
  switch (p.kind) {
  case Coll::Shfl: {
    // PTX ISA, shfl.sync: b = in[1] (lane or offset), c = in[2] (clamp in
    // bits 0-4, segment mask in bits 8-12).
    int32_t mode = p.params[0];
    for (int lane = 0; lane < 32; ++lane) {
      if (!(p.mask & (1u << lane)))
        continue;
      int32_t b = static_cast<int32_t>(w.in[lane][1] & 0x1f);
      int32_t c = static_cast<int32_t>(w.in[lane][2] & 0x1f);
      int32_t segmask = static_cast<int32_t>((w.in[lane][2] >> 8) & 0x1f);
      int32_t maxLane = (lane & segmask) | (c & ~segmask);
      int32_t minLane = lane & segmask;
      int32_t j = lane;
      bool valid = false;
      switch (mode) {
      case 0: // up
        j = lane - b;
        valid = j >= maxLane;
        break;
      case 1: // down
        j = lane + b;
        valid = j <= maxLane;
        break;
      case 2: // bfly
        j = lane ^ b;
        valid = j <= maxLane;
        break;
      default: // idx
        j = minLane | (b & ~segmask);
        valid = j <= maxLane;
        break;
      }
      if (!valid)
        j = lane;
      if (!(p.mask & (1u << j))) {
        Thread &t = l.threads[l.running->warp * 32 + lane];
        KVQ_FAIL(l,
                 "%s: shfl.sync reads lane %d, which is not in the member "
                 "mask 0x%08x (its value is undefined)",
                 who(t).c_str(), j, p.mask);
      }
      w.out[lane][0] = w.in[j][0];
      w.out[lane][1] = valid;
    }
    return;
  }
  case Coll::Vote: {
    uint32_t ballot = 0;
    for (int lane = 0; lane < 32; ++lane)
      if ((p.mask & (1u << lane)) && w.in[lane][0])
        ballot |= 1u << lane;
    uint32_t result = 0;
    switch (p.params[0]) {
    case 0:
      result = ballot != 0;
      break;
    case 1:
      result = ballot == p.mask;
      break;
    case 2:
      result = ballot;
      break;
    default:
      result = ballot == 0 || ballot == p.mask;
      break;
    }
    for (int lane = 0; lane < 32; ++lane)
      if (p.mask & (1u << lane))
        w.out[lane][0] = result;
    return;
  }
  case Coll::SyncWarp: {
    uint32_t seq = ++w.sync.seq;
    for (int lane = 0; lane < 32; ++lane)
      if (p.mask & (1u << lane)) {
        w.sync.laneSeq[lane] = seq;
        w.sync.laneMask[lane] = p.mask;
      }
    return;
  }
  case Coll::Mma: {
    MmaShape shape{p.params[0], p.params[1], p.params[2], p.params[3],
                   p.params[4], p.params[5], p.params[6], p.params[7] != 0};
    mmaCompute(shape, w.in, w.out);
    return;
  }
  case Coll::MovMatrix: {
    // movmatrix.sync.aligned.m8n8.trans.b16: lane l holds row l/4, columns
    // 2(l%4) (low half) and 2(l%4)+1 (high half) of an 8 x 8 b16 matrix M
    // and receives the same elements of M^T: M[c][l/4], held by lane
    // 4c + (l/4)/2 in its half (l/4)%2.
    auto element = [&](int row, int col) -> uint32_t {
      return (w.in[4 * row + col / 2][0] >> (16 * (col % 2))) & 0xffffu;
    };
    for (int lane = 0; lane < 32; ++lane) {
      int r = lane / 4, c = 2 * (lane % 4);
      w.out[lane][0] = element(c, r) | (element(c + 1, r) << 16);
    }
    return;
  }
  case Coll::LdMatrix: {
    // Matrix i (8 x 8 b16) has its rows at the addresses of lanes
    // 8i..8i+7; lane l receives row l/4, columns 2(l%4), 2(l%4)+1 of each
    // (transposed: rows 2(l%4), 2(l%4)+1 of column l/4).
    int32_t num = p.params[0];
    bool transpose = p.params[1] != 0;
    uint16_t rows[4][8][8];
    for (int m = 0; m < num; ++m)
      for (int r = 0; r < 8; ++r) {
        int lane = m * 8 + r;
        Thread &t = l.threads[l.running->warp * 32 + lane];
        size_t offset =
            sharedOffset(l, t, w.address[lane], 16, 16, "ldmatrix row read");
        if (l.checks)
          checkRead(l, t, offset, 16);
        std::memcpy(rows[m][r], l.shared + offset, 16);
      }
    for (int lane = 0; lane < 32; ++lane)
      for (int m = 0; m < num; ++m) {
        int g = lane / 4, t2 = 2 * (lane % 4);
        uint16_t lo = transpose ? rows[m][t2][g] : rows[m][g][t2];
        uint16_t hi = transpose ? rows[m][t2 + 1][g] : rows[m][g][t2 + 1];
        w.out[lane][m] = lo | static_cast<uint32_t>(hi) << 16;
      }
    return;
  }
  }
}

//===----------------------------------------------------------------------===//
// The scheduler
//===----------------------------------------------------------------------===//

void fiberMain() {
  Launch &l = *current;
  Thread &t = *l.running;
  l.kernel->entry(l.params);
  onExit(l, t);
  t.state = State::Exited;
  switchFiber(t.context, l.scheduler);
  std::abort(); // an exited fiber is never resumed
}

void resume(Launch &l, Thread &t) {
  if (t.state == State::Fresh) {
    t.stack = stackPool.acquire(stackBytes());
    if (!t.stack.base) {
      recordError(where(l) + ": cannot allocate a fiber stack");
      l.aborted = true;
      return;
    }
    initFiber(t.context, t.stack, fiberMain);
    ++stats.threads;
  }
  l.running = &t;
  t.state = State::Running;
  ++stats.switches;
  switchFiber(l.scheduler, t.context);
  l.running = nullptr;
  if (t.state == State::Exited) {
    stackPool.release(t.stack);
    t.stack = Stack();
  }
}

std::string describeDeadlock(const Launch &l) {
  uint32_t atBarrier = 0, atWarp = 0;
  const Thread *firstBarrier = nullptr, *firstWarp = nullptr;
  for (const Thread &t : l.threads) {
    if (t.state != State::Waiting)
      continue;
    if (t.atBarrier) {
      firstBarrier = firstBarrier ? firstBarrier : &t;
      ++atBarrier;
    } else {
      firstWarp = firstWarp ? firstWarp : &t;
      ++atWarp;
    }
  }
  std::string s = format("deadlock: %u of %u threads are blocked and none "
                         "can proceed (%u exited)",
                         l.live, l.numThreads, l.numThreads - l.live);
  if (atBarrier)
    s += format("; %u wait at barrier %d (first: %s; the barrier waits for "
                "%d threads, %u arrived)",
                atBarrier, firstBarrier->barrierId, who(*firstBarrier).c_str(),
                l.barriers[firstBarrier->barrierId].count < 0
                    ? static_cast<int32_t>(l.live)
                    : l.barriers[firstBarrier->barrierId].count,
                l.barriers[firstBarrier->barrierId].arrived);
  if (atWarp) {
    const Warp &w = l.warps[firstWarp->warp];
    for (const Pending &p : w.pending)
      if (p.mask & (1u << firstWarp->lane))
        s += format("; %u wait in warp-synchronous instructions (first: %s "
                    "in %s with member mask 0x%08x, lanes 0x%08x arrived)",
                    atWarp, who(*firstWarp).c_str(), collectiveName(p.kind),
                    p.mask, p.arrived);
  }
  return s;
}

void runBlock(Launch &l) {
  for (uint32_t i = 0; i < l.numThreads; ++i) {
    Thread &t = l.threads[i];
    t.state = State::Fresh;
    t.atBarrier = false;
    t.resetCopies();
  }
  for (Warp &w : l.warps) {
    w.exited = 0;
    w.sync = WarpSync();
    w.pending.clear();
  }
  for (Barrier &b : l.barriers)
    b = Barrier();
  l.live = l.numThreads;
  l.epoch = 1;
  if (l.sharedBytes)
    std::memset(l.shared, 0xff, l.sharedBytes);
  if (l.checks)
    std::fill(l.shadow.begin(), l.shadow.end(), ShadowByte());
  ++stats.blocks;

  bool progressed = true;
  while (progressed && !l.aborted) {
    progressed = false;
    for (Thread &t : l.threads) {
      if (t.state != State::Fresh && t.state != State::Ready)
        continue;
      resume(l, t);
      progressed = true;
      if (l.aborted)
        break;
    }
  }
  if (!l.aborted && l.live > 0) {
    recordError(where(l) + ": " + describeDeadlock(l));
    l.aborted = true;
  }
  // Fibers abandoned by an error or a deadlock give their stacks back.
  for (Thread &t : l.threads)
    if (t.stack.base) {
      stackPool.release(t.stack);
      t.stack = Stack();
    }
}

bool validConfiguration(const Kernel &kernel, const uint64_t grid[3],
                        const uint64_t block[3], uint64_t dynamicShared,
                        size_t numParams) {
  auto fail = [&](const std::string &why) {
    recordError(format("mgpuLaunchKernel: kernel '%s' (module %s): ",
                       kernel.name.c_str(), moduleName(kernel).c_str()) +
                why);
    return false;
  };
  const uint64_t maxGrid[3] = {2147483647ull, 65535, 65535};
  const uint64_t maxBlock[3] = {1024, 1024, 64};
  for (int i = 0; i < 3; ++i) {
    if (grid[i] < 1 || grid[i] > maxGrid[i] || block[i] < 1 ||
        block[i] > maxBlock[i])
      return fail(format("invalid configuration: grid (%" PRIu64 ", %" PRIu64
                         ", %" PRIu64 "), block (%" PRIu64 ", %" PRIu64
                         ", %" PRIu64 ") (CUDA_ERROR_INVALID_VALUE)",
                         grid[0], grid[1], grid[2], block[0], block[1],
                         block[2]));
  }
  uint64_t threads = block[0] * block[1] * block[2];
  if (threads > 1024)
    return fail(
        format("%" PRIu64 " threads per block, more than 1024", threads));
  if (kernel.maxThreads > 0 &&
      threads > static_cast<uint64_t>(kernel.maxThreads))
    return fail(format("%" PRIu64 " threads per block, more than the "
                       "kernel's maximum of %d (nvvm.maxntid / reqntid)",
                       threads, kernel.maxThreads));
  if (static_cast<uint64_t>(kernel.staticShared) + dynamicShared > 232448)
    return fail(format("%" PRId64 " bytes of static and %" PRIu64
                       " of dynamic shared memory, more than the 227 KB of "
                       "a block on sm_90",
                       kernel.staticShared, dynamicShared));
  if (kernel.numParams >= 0 &&
      numParams != static_cast<size_t>(kernel.numParams))
    return fail(
        format("launched with %zu parameters, the kernel takes %" PRId64,
               numParams, kernel.numParams));
  return true;
}

void runLaunch(const Kernel &kernel, const uint64_t grid[3],
               const uint64_t block[3], uint64_t dynamicShared, void **params) {
  if (current) {
    std::fprintf(stderr, "kvq gpu emulator: a kernel launched a kernel\n");
    std::abort();
  }
  // The launch state is reused by the next launch of this host thread.
  thread_local std::unique_ptr<Launch> cached;
  if (!cached)
    cached = std::make_unique<Launch>();
  Launch &l = *cached;
  l.kernel = &kernel;
  l.params = params;
  l.aborted = false;
  l.running = nullptr;
  for (int i = 0; i < 3; ++i) {
    l.grid[i] = static_cast<uint32_t>(grid[i]);
    l.block[i] = static_cast<uint32_t>(block[i]);
  }
  l.numThreads = l.block[0] * l.block[1] * l.block[2];
  l.threads.resize(l.numThreads);
  for (uint32_t i = 0; i < l.numThreads; ++i) {
    Thread &t = l.threads[i];
    t.linear = i;
    t.x = i % l.block[0];
    t.y = i / l.block[0] % l.block[1];
    t.z = i / (l.block[0] * l.block[1]);
    t.lane = i % 32;
    t.warp = i / 32;
  }
  l.warps.resize((l.numThreads + 31) / 32);
  for (uint32_t wi = 0; wi < l.warps.size(); ++wi) {
    uint32_t n = std::min<uint32_t>(32, l.numThreads - wi * 32);
    l.warps[wi].lanes = n == 32 ? ~0u : (1u << n) - 1;
  }
  // Static shared memory first, then dynamic (16-byte aligned); the buffer
  // is aligned like a GPU's shared window (address bits used for swizzles
  // behave the same).
  size_t staticBytes = (static_cast<size_t>(kernel.staticShared) + 15) & ~15ul;
  l.dynamicShared = dynamicShared;
  l.sharedBytes = staticBytes + dynamicShared;
  thread_local std::unique_ptr<char, decltype(&std::free)> sharedMemory(
      nullptr, std::free);
  thread_local size_t sharedCapacity = 0;
  if (l.sharedBytes > sharedCapacity) {
    sharedCapacity = (l.sharedBytes + 4095) & ~4095ul;
    sharedMemory.reset(
        static_cast<char *>(std::aligned_alloc(4096, sharedCapacity)));
  }
  l.shared = l.sharedBytes ? sharedMemory.get() : nullptr;
  l.checks = enabledChecks.load();
  if (l.checks)
    l.shadow.resize(l.sharedBytes);
  ++stats.launches;

  current = &l;
  for (uint32_t z = 0; z < l.grid[2] && !l.aborted; ++z)
    for (uint32_t y = 0; y < l.grid[1] && !l.aborted; ++y)
      for (uint32_t x = 0; x < l.grid[0] && !l.aborted; ++x) {
        l.ctaid[0] = x;
        l.ctaid[1] = y;
        l.ctaid[2] = z;
        runBlock(l);
      }
  current = nullptr;
}

//===----------------------------------------------------------------------===//
// Host memory
//===----------------------------------------------------------------------===//

std::mutex allocationMutex;
std::unordered_map<void *, size_t> &allocations() {
  static auto *map = new std::unordered_map<void *, size_t>;
  return *map;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

KVQ_EXPORT void kvqEmuSetChecks(uint32_t checks) { enabledChecks = checks; }
KVQ_EXPORT uint32_t kvqEmuGetChecks(void) { return enabledChecks; }

KVQ_EXPORT void kvqEmuGetStats(kvq_emu_stats *out) {
  if (!out)
    return;
  out->launches = stats.launches;
  out->blocks = stats.blocks;
  out->threads = stats.threads;
  out->switches = stats.switches;
  out->collectives = stats.collectives;
  out->barriers = stats.barriers;
  out->hazards = stats.hazards;
}

KVQ_EXPORT int32_t kvqCudaGetLastError(char *message, size_t size) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (message && size) {
    std::strncpy(message, lastMessage.c_str(), size - 1);
    message[size - 1] = '\0';
  }
  return lastError;
}

KVQ_EXPORT void kvqCudaClearError(void) {
  std::lock_guard<std::mutex> lock(errorMutex);
  lastError = 0;
  lastMessage.clear();
}

namespace {
thread_local void *userStream = nullptr;
} // namespace

KVQ_EXPORT void kvqCudaSetStream(void *stream) { userStream = stream; }
KVQ_EXPORT void *kvqCudaGetStream(void) { return userStream; }
KVQ_EXPORT int32_t kvqCudaDeviceCount(void) { return 1; }

KVQ_EXPORT void
__kvq_emu_register_kernel(const char *module, const char *kernel,
                          kvq_emu_entry entry, int64_t staticShared,
                          int64_t numParams, int32_t maxThreads) {
  auto k = std::make_unique<Kernel>(
      Kernel{module, kernel, entry, staticShared, numParams, maxThreads});
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.kernels.emplace(std::make_pair(std::string(module), std::string(kernel)),
                    std::move(k));
}

KVQ_EXPORT void __kvq_emu_unregister_kernel(const char *module,
                                            const char *kernel,
                                            kvq_emu_entry entry) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto range = r.kernels.equal_range({module, kernel});
  for (auto it = range.first; it != range.second; ++it)
    if (it->second->entry == entry) {
      r.kernels.erase(it);
      return;
    }
}

// Modules and kernels. A module's binary is the text
// "kvq-gpu-emulator-module:<name>:<hash>" (kvq-emulate-gpu-kernels).

static void *loadModule(const char *data, size_t size) {
  size_t magic = sizeof(kModuleMagic) - 1;
  if (!data || size < magic || std::memcmp(data, kModuleMagic, magic) != 0) {
    recordError("mgpuModuleLoad: not a module of kvq's GPU emulator (a "
                "binary for a real GPU? Compile with --target=nvvm-emulated, "
                "or link libkvq_cuda_runtime)");
    return nullptr;
  }
  return new Module{std::string(data, size)};
}

KVQ_EXPORT void *mgpuModuleLoad(void *data, uint64_t size) {
  const char *text = static_cast<const char *>(data);
  // The object string may carry a terminating NUL.
  while (size && text && text[size - 1] == '\0')
    --size;
  return loadModule(text, size);
}

KVQ_EXPORT void *mgpuModuleLoadJIT(void *data, int32_t) {
  const char *text = static_cast<const char *>(data);
  return loadModule(text, text ? std::strlen(text) : 0);
}

KVQ_EXPORT void mgpuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
}

KVQ_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!module || !name) {
    recordError("mgpuModuleGetFunction: no module (it failed to load)");
    return nullptr;
  }
  auto *m = static_cast<Module *>(module);
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.kernels.find({m->text, name});
  if (it == r.kernels.end()) {
    recordError(format("mgpuModuleGetFunction: module '%s' has no kernel "
                       "'%s' (CUDA_ERROR_NOT_FOUND)",
                       m->text.c_str() + sizeof(kModuleMagic) - 1, name));
    return nullptr;
  }
  return it->second.get();
}

KVQ_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                 intptr_t gridZ, intptr_t blockX,
                                 intptr_t blockY, intptr_t blockZ, int32_t smem,
                                 void *, void **params, void **extra,
                                 size_t paramsCount) {
  if (lastError.load() != 0)
    return; // sticky, as a CUDA context after a kernel fault
  if (!function) {
    recordError("mgpuLaunchKernel: no kernel (module or function failed to "
                "load)");
    return;
  }
  const Kernel &kernel = *static_cast<const Kernel *>(function);
  if (extra) {
    recordError(format("mgpuLaunchKernel: kernel '%s': `extra` launch "
                       "parameters are not supported by the emulator",
                       kernel.name.c_str()));
    return;
  }
  if (smem < 0) {
    recordError(format("mgpuLaunchKernel: kernel '%s': negative dynamic "
                       "shared memory size %d",
                       kernel.name.c_str(), smem));
    return;
  }
  uint64_t grid[3] = {static_cast<uint64_t>(gridX),
                      static_cast<uint64_t>(gridY),
                      static_cast<uint64_t>(gridZ)};
  uint64_t block[3] = {static_cast<uint64_t>(blockX),
                       static_cast<uint64_t>(blockY),
                       static_cast<uint64_t>(blockZ)};
  if (!validConfiguration(kernel, grid, block, static_cast<uint64_t>(smem),
                          paramsCount))
    return;
  runLaunch(kernel, grid, block, static_cast<uint64_t>(smem), params);
}

KVQ_EXPORT void kvqEmuLaunch(kvq_emu_entry entry, const char *name,
                             uint32_t gridX, uint32_t gridY, uint32_t gridZ,
                             uint32_t blockX, uint32_t blockY, uint32_t blockZ,
                             uint32_t sharedBytes, void **params) {
  if (lastError.load() != 0)
    return;
  Kernel kernel{"(test)", name ? name : "kernel", entry, 0, -1, 0};
  uint64_t grid[3] = {gridX, gridY, gridZ};
  uint64_t block[3] = {blockX, blockY, blockZ};
  if (validConfiguration(kernel, grid, block, sharedBytes, 0))
    runLaunch(kernel, grid, block, sharedBytes, params);
}

// Streams and events: everything runs in order when issued.

KVQ_EXPORT void *mgpuStreamCreate(void) {
  return userStream ? userStream : new char(0);
}
KVQ_EXPORT void mgpuStreamDestroy(void *stream) {
  if (stream && stream != userStream)
    delete static_cast<char *>(stream);
}
KVQ_EXPORT void mgpuStreamSynchronize(void *) {}
KVQ_EXPORT void mgpuStreamWaitEvent(void *, void *) {}
KVQ_EXPORT void *mgpuEventCreate(void) { return new char(0); }
KVQ_EXPORT void mgpuEventDestroy(void *event) {
  delete static_cast<char *>(event);
}
KVQ_EXPORT void mgpuEventSynchronize(void *) {}
KVQ_EXPORT void mgpuEventRecord(void *, void *) {}
KVQ_EXPORT void mgpuSetDefaultDevice(int32_t) {}

// Device memory is host memory, 256-byte aligned like cudaMalloc's, and
// filled with 0xff bytes (NaN as floating point): a kernel that reads
// memory nobody wrote computes NaN instead of a plausible zero.

KVQ_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void *, bool) {
  if (sizeBytes == 0)
    return nullptr;
  size_t rounded = (sizeBytes + 255) & ~static_cast<uint64_t>(255);
  void *p = std::aligned_alloc(256, rounded);
  if (!p) {
    recordError(
        format("mgpuMemAlloc: out of memory (%" PRIu64 " bytes)", sizeBytes));
    return nullptr;
  }
  std::memset(p, 0xff, rounded);
  std::lock_guard<std::mutex> lock(allocationMutex);
  allocations()[p] = sizeBytes;
  return p;
}

KVQ_EXPORT void mgpuMemFree(void *ptr, void *) {
  if (!ptr)
    return;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    if (!allocations().erase(ptr)) {
      recordError(format("mgpuMemFree: %p is not an allocation of "
                         "mgpuMemAlloc (CUDA_ERROR_INVALID_VALUE)",
                         ptr));
      return;
    }
  }
  std::free(ptr);
}

KVQ_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *) {
  if (sizeBytes)
    std::memmove(dst, src, sizeBytes);
}

KVQ_EXPORT void mgpuMemset32(void *dst, uint32_t value, size_t count, void *) {
  auto *p = static_cast<uint32_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
}

KVQ_EXPORT void mgpuMemset16(void *dst, uint16_t value, size_t count, void *) {
  auto *p = static_cast<uint16_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
}

//===----------------------------------------------------------------------===//
// Device functions
//===----------------------------------------------------------------------===//

#define KVQ_RUNNING()                                                          \
  Launch &l = launch();                                                        \
  Thread &t = *l.running;                                                      \
  (void)t

KVQ_EXPORT uint32_t __kvq_emu_sreg_tid_x(void) {
  KVQ_RUNNING();
  return t.x;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_tid_y(void) {
  KVQ_RUNNING();
  return t.y;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_tid_z(void) {
  KVQ_RUNNING();
  return t.z;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_ntid_x(void) { return launch().block[0]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_ntid_y(void) { return launch().block[1]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_ntid_z(void) { return launch().block[2]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_ctaid_x(void) { return launch().ctaid[0]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_ctaid_y(void) { return launch().ctaid[1]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_ctaid_z(void) { return launch().ctaid[2]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_nctaid_x(void) { return launch().grid[0]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_nctaid_y(void) { return launch().grid[1]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_nctaid_z(void) { return launch().grid[2]; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_laneid(void) {
  KVQ_RUNNING();
  return t.lane;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_warpsize(void) { return 32; }
KVQ_EXPORT uint32_t __kvq_emu_sreg_warpid(void) {
  KVQ_RUNNING();
  return t.warp;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_nwarpid(void) {
  return static_cast<uint32_t>(launch().warps.size());
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_lanemask_eq(void) {
  KVQ_RUNNING();
  return 1u << t.lane;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_lanemask_le(void) {
  KVQ_RUNNING();
  return t.lane == 31 ? ~0u : (2u << t.lane) - 1;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_lanemask_lt(void) {
  KVQ_RUNNING();
  return (1u << t.lane) - 1;
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_lanemask_ge(void) {
  KVQ_RUNNING();
  return ~((1u << t.lane) - 1);
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_lanemask_gt(void) {
  KVQ_RUNNING();
  return t.lane == 31 ? 0u : ~((2u << t.lane) - 1);
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_dynamic_smem_size(void) {
  return static_cast<uint32_t>(launch().dynamicShared);
}
KVQ_EXPORT uint32_t __kvq_emu_sreg_total_smem_size(void) {
  return static_cast<uint32_t>(launch().sharedBytes);
}

KVQ_EXPORT int32_t __kvq_emu_barrier(int32_t id, int32_t count, int32_t op,
                                     int32_t predicate) {
  KVQ_RUNNING();
  return arriveAtBarrier(l, t, id, count, op, predicate,
                         __builtin_return_address(0));
}

KVQ_EXPORT uint64_t __kvq_emu_shfl_sync(int32_t mode, uint32_t memberMask,
                                        uint32_t value, uint32_t offset,
                                        uint32_t clampAndMask) {
  KVQ_RUNNING();
  Warp &w = l.warps[t.warp];
  w.in[t.lane][0] = value;
  w.in[t.lane][1] = offset;
  w.in[t.lane][2] = clampAndMask;
  int32_t params[1] = {mode};
  arriveAtWarp(l, t, Coll::Shfl, memberMask, __builtin_return_address(0), false,
               params, 1);
  return w.out[t.lane][0] | static_cast<uint64_t>(w.out[t.lane][1]) << 32;
}

KVQ_EXPORT uint32_t __kvq_emu_vote_sync(int32_t kind, uint32_t memberMask,
                                        int32_t predicate) {
  KVQ_RUNNING();
  Warp &w = l.warps[t.warp];
  w.in[t.lane][0] = predicate != 0;
  int32_t params[1] = {kind};
  arriveAtWarp(l, t, Coll::Vote, memberMask, __builtin_return_address(0), false,
               params, 1);
  return w.out[t.lane][0];
}

KVQ_EXPORT void __kvq_emu_syncwarp(uint32_t memberMask) {
  KVQ_RUNNING();
  arriveAtWarp(l, t, Coll::SyncWarp, memberMask, __builtin_return_address(0),
               false, nullptr, 0);
}

KVQ_EXPORT kvq_emu_mma_regs kvqEmuMmaRegisters(int32_t m, int32_t n, int32_t k,
                                               int32_t typeAB, int32_t typeC,
                                               int32_t typeD) {
  return mmaRegisters(MmaShape{m, n, k, typeAB, typeAB, typeC, typeD, true});
}

KVQ_EXPORT void __kvq_emu_mma_sync(int32_t m, int32_t n, int32_t k,
                                   int32_t typeA, int32_t typeB, int32_t typeC,
                                   int32_t typeD, int32_t satfinite,
                                   const uint32_t *in, uint32_t *out) {
  KVQ_RUNNING();
  MmaShape shape{m, n, k, typeA, typeB, typeC, typeD, satfinite != 0};
  kvq_emu_mma_regs regs = mmaRegisters(shape);
  if (!regs.a)
    KVQ_FAIL(l, "%s: unsupported mma.sync m%dn%dk%d (types %d %d %d %d)",
             who(t).c_str(), m, n, k, typeA, typeB, typeC, typeD);
  Warp &w = l.warps[t.warp];
  std::memcpy(w.in[t.lane], in, 4 * (regs.a + regs.b + regs.c));
  int32_t params[8] = {m, n, k, typeA, typeB, typeC, typeD, satfinite != 0};
  arriveAtWarp(l, t, Coll::Mma, ~0u, __builtin_return_address(0), true, params,
               8);
  std::memcpy(out, w.out[t.lane], 4 * regs.d);
}

KVQ_EXPORT void __kvq_emu_ldmatrix(int32_t num, int32_t transpose, void *row,
                                   uint32_t *out) {
  KVQ_RUNNING();
  if (num != 1 && num != 2 && num != 4)
    KVQ_FAIL(l, "%s: ldmatrix .x%d (1, 2 or 4)", who(t).c_str(), num);
  Warp &w = l.warps[t.warp];
  w.address[t.lane] = row;
  int32_t params[2] = {num, transpose != 0};
  arriveAtWarp(l, t, Coll::LdMatrix, ~0u, __builtin_return_address(0), true,
               params, 2);
  std::memcpy(out, w.out[t.lane], 4 * num);
}

KVQ_EXPORT uint32_t __kvq_emu_movmatrix(uint32_t fragment) {
  KVQ_RUNNING();
  Warp &w = l.warps[t.warp];
  w.in[t.lane][0] = fragment;
  arriveAtWarp(l, t, Coll::MovMatrix, ~0u, __builtin_return_address(0), true,
               nullptr, 0);
  return w.out[t.lane][0];
}

KVQ_EXPORT void __kvq_emu_cp_async(void *dst, const void *src, int32_t size,
                                   int32_t srcSize) {
  KVQ_RUNNING();
  if (size != 4 && size != 8 && size != 16)
    KVQ_FAIL(l, "%s: cp.async of %d bytes (4, 8 or 16)", who(t).c_str(), size);
  if (srcSize < 0 || srcSize > size)
    KVQ_FAIL(l, "%s: cp.async of %d bytes with a source size of %d",
             who(t).c_str(), size, srcSize);
  size_t offset = sharedOffset(l, t, dst, size, size, "cp.async destination");
  if (reinterpret_cast<uintptr_t>(src) % static_cast<uint32_t>(size) != 0)
    KVQ_FAIL(l,
             "%s: misaligned cp.async source %p (%d-byte copies need "
             "%d-byte alignment)",
             who(t).c_str(), src, size, size);
  AsyncCopy c;
  c.dst = l.shared + offset;
  c.size = static_cast<uint8_t>(size);
  c.issueEpoch = l.epoch;
  c.issueSyncSeq = l.warps[t.warp].sync.laneSeq[t.lane];
  c.issueSyncMask = l.warps[t.warp].sync.laneMask[t.lane];
  std::memset(c.data, 0, sizeof(c.data));
  if (srcSize)
    std::memcpy(c.data, src, static_cast<size_t>(srcSize));
  if (l.checks & KVQ_EMU_CHECK_RACE) {
    uint32_t me = t.linear;
    for (size_t i = offset; i < offset + static_cast<size_t>(size); ++i) {
      ShadowByte &s = l.shadow[i];
      if (s.asyncCount && s.asyncWriter != me)
        hazard(l, "write-after-write", i, s.asyncWriter,
               "copies to it with cp.async", me, "copies to it with cp.async");
      // PTX ISA: cp.async operations are unordered unless a wait separates
      // them, so a second copy to a byte lands before or after the first.
      if (s.asyncCount)
        KVQ_FAIL(l,
                 "%s copies to byte %zu of shared memory with cp.async while "
                 "a cp.async of its own to it is in flight (no "
                 "cp.async.wait_group covers the first: the order in which "
                 "they land is undefined)",
                 who(t).c_str(), i);
      if (s.writeEpoch == l.epoch && s.writer != me &&
          !warpOrdered(l, s.writer, s.writeSeq, t))
        hazard(l, "write-after-write", i, s.writer, writeKind(s), me,
               "copies to it with cp.async");
      if (s.readEpoch == l.epoch &&
          (s.reader != me || (s.flags & kSeveralReaders)) &&
          !readsOrdered(l, s, t, l.warps[t.warp].sync.laneSeq[t.lane],
                        l.warps[t.warp].sync.laneMask[t.lane]))
        hazard(l, "write-after-read", i, s.reader, "read it", me,
               "copies to it with cp.async");
    }
  }
  if (l.checks)
    for (size_t i = offset; i < offset + static_cast<size_t>(size); ++i) {
      l.shadow[i].asyncWriter = static_cast<uint16_t>(t.linear);
      ++l.shadow[i].asyncCount;
    }
  t.copies.push_back(c);
}

KVQ_EXPORT void __kvq_emu_cp_async_commit_group(void) {
  KVQ_RUNNING();
  uint32_t n =
      static_cast<uint32_t>(t.copies.size()) - t.copyHead - t.committed;
  t.groups.push_back(n);
  t.committed += n;
}

KVQ_EXPORT void __kvq_emu_cp_async_wait_group(int32_t n) {
  KVQ_RUNNING();
  if (n < 0)
    KVQ_FAIL(l, "%s: cp.async.wait_group %d", who(t).c_str(), n);
  waitGroups(l, t, static_cast<uint32_t>(n));
}

KVQ_EXPORT void *__kvq_emu_shared_base(void) { return launch().shared; }

KVQ_EXPORT void *__kvq_emu_shared_access(void *address, int64_t size,
                                         int32_t kind, int64_t alignment) {
  KVQ_RUNNING();
  static const char *const what[] = {"load", "store", "atomic"};
  size_t offset = sharedOffset(l, t, address, size, alignment,
                               what[kind < 0 || kind > 2 ? 0 : kind]);
  if (l.checks) {
    if (kind != 1)
      checkRead(l, t, offset, static_cast<size_t>(size));
    if (kind != 0)
      checkWrite(l, t, offset, static_cast<size_t>(size), l.epoch,
                 l.warps[t.warp].sync.laneSeq[t.lane],
                 l.warps[t.warp].sync.laneMask[t.lane], kind == 2, false,
                 kind == 2 ? "updates it atomically" : "writes it");
  }
  return address;
}
