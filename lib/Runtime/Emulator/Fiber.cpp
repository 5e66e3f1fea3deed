//===- Fiber.cpp - Cooperative fibers for the GPU emulator ------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "Fiber.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

using namespace kvq::emu;

#if defined(__x86_64__)
// kvq_emu_switch_stack(void **from, void *to): pushes the callee-saved
// registers and MXCSR / the x87 control word, stores the stack pointer in
// *from, loads `to` and pops the same frame from it. A new fiber's frame
// (initFiber) returns into kvq_emu_fiber_start, which calls the entry
// function left in the rbx slot.
asm(R"(
  .text
  .p2align 4
  .globl kvq_emu_switch_stack
  .hidden kvq_emu_switch_stack
  .type kvq_emu_switch_stack,@function
kvq_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size kvq_emu_switch_stack, .-kvq_emu_switch_stack

  .p2align 4
  .globl kvq_emu_fiber_start
  .hidden kvq_emu_fiber_start
  .type kvq_emu_fiber_start,@function
kvq_emu_fiber_start:
  callq *%rbx
  ud2
  .size kvq_emu_fiber_start, .-kvq_emu_fiber_start
)");
extern "C" void kvq_emu_switch_stack(void **from, void *to);
extern "C" void kvq_emu_fiber_start();
#endif

bool kvq::emu::useFastSwitch() {
#if defined(__x86_64__)
  static const bool fast = [] {
    const char *env = std::getenv("KVQ_EMU_FIBERS");
    return !env || std::strcmp(env, "ucontext") != 0;
  }();
  return fast;
#else
  return false;
#endif
}

StackPool::~StackPool() {
  long page = sysconf(_SC_PAGESIZE);
  for (Stack &s : free)
    munmap(s.base - page, s.size + page);
}

Stack StackPool::acquire(size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size = (size + page - 1) / page * page;
  while (!free.empty()) {
    Stack s = free.back();
    free.pop_back();
    if (s.size >= size)
      return s;
    munmap(s.base - page, s.size + page);
  }
  void *memory =
      mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (memory == MAP_FAILED)
    return {};
  // A guard page below the stack: an overflow faults instead of
  // corrupting a neighbour.
  mprotect(memory, page, PROT_NONE);
  return {static_cast<char *>(memory) + page, size};
}

void StackPool::release(Stack stack) {
  if (stack.base)
    free.push_back(stack);
}

void kvq::emu::initFiber(FiberContext &context, Stack stack, void (*entry)()) {
#if defined(__x86_64__)
  if (useFastSwitch()) {
    auto top = reinterpret_cast<uintptr_t>(stack.base + stack.size) & ~15ul;
    auto *frame = reinterpret_cast<uint64_t *>(top - 80);
    std::memset(frame, 0, 80);
    uint32_t mxcsr = __builtin_ia32_stmxcsr();
    uint16_t fpcw;
    asm volatile("fnstcw %0" : "=m"(fpcw));
    std::memcpy(frame, &mxcsr, 4);
    std::memcpy(reinterpret_cast<char *>(frame) + 4, &fpcw, 2);
    frame[5] = reinterpret_cast<uint64_t>(entry); // rbx
    frame[7] = reinterpret_cast<uint64_t>(&kvq_emu_fiber_start);
    context.sp = frame;
    return;
  }
#endif
  getcontext(&context.uc);
  context.uc.uc_stack.ss_sp = stack.base;
  context.uc.uc_stack.ss_size = stack.size;
  context.uc.uc_link = nullptr;
  makecontext(&context.uc, entry, 0);
}

void kvq::emu::switchFiber(FiberContext &from, FiberContext &to) {
#if defined(__x86_64__)
  if (useFastSwitch()) {
    kvq_emu_switch_stack(&from.sp, to.sp);
    return;
  }
#endif
  swapcontext(&from.uc, &to.uc);
}
