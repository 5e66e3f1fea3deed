//===- Fiber.h - Cooperative fibers for the GPU emulator --------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Each emulated GPU thread runs on a fiber: its own stack, entered and left
// only at explicit switch points (barriers, warp-synchronous instructions,
// thread exit). On x86-64 a switch is a few instructions that save the
// callee-saved registers (and MXCSR / the x87 control word) and swap stack
// pointers; elsewhere, or with KVQ_EMU_FIBERS=ucontext, it is
// swapcontext(3), which also saves the signal mask (a system call).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_LIB_RUNTIME_EMULATOR_FIBER_H
#define KVQ_LIB_RUNTIME_EMULATOR_FIBER_H

#include <cstddef>
#include <ucontext.h>
#include <vector>

namespace kvq {
namespace emu {

/// A fiber stack: [base, base + size) usable, a guard page below it.
struct Stack {
  char *base = nullptr;
  size_t size = 0;
};

/// Stacks reused across threads and launches (of one host thread).
class StackPool {
public:
  ~StackPool();
  /// A stack of at least `size` bytes; null base when mmap fails.
  Stack acquire(size_t size);
  void release(Stack stack);

private:
  std::vector<Stack> free;
};

/// The saved state of a suspended fiber (or of the scheduler).
struct FiberContext {
  void *sp = nullptr; // hand-written switch
  ucontext_t uc;      // swapcontext fallback
};

/// Whether the hand-written switch is used (x86-64, unless
/// KVQ_EMU_FIBERS=ucontext).
bool useFastSwitch();

/// Prepares `context` to run `entry()` on `stack` when switched to; `entry`
/// never returns (it switches away for good).
void initFiber(FiberContext &context, Stack stack, void (*entry)());

/// Saves the current state into `from` and resumes `to`.
void switchFiber(FiberContext &from, FiberContext &to);

} // namespace emu
} // namespace kvq

#endif // KVQ_LIB_RUNTIME_EMULATOR_FIBER_H
