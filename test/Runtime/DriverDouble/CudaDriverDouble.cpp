//===- CudaDriverDouble.cpp - a host-side test double of libcuda.so.1 -----===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// A libcuda.so.1 for tests on machines without a GPU: kvq's CUDA runtime
// dlopens libcuda.so.1, so a test that puts this library's directory first
// on LD_LIBRARY_PATH runs GPU libraries end to end against it. It
// implements the driver calls the runtime uses with real state and refuses
// what a real driver refuses, with the real CUresult codes:
//
// * initialization: nothing works before cuInit (CUDA_ERROR_NOT_INITIALIZED)
//   or after the driver's exit handler ran (CUDA_ERROR_DEINITIALIZED; like
//   the real driver, the handler is registered by cuInit and tears down
//   every context at process exit);
// * devices and primary contexts (retain / release with a reference count;
//   the last release destroys the context's modules, memory, streams and
//   events) and a per-thread stack of current contexts (push / pop / get /
//   set). Every call on a context's objects needs a current context
//   (CUDA_ERROR_INVALID_CONTEXT) and the objects must belong to it;
// * modules from PTX (entry names, parameter sizes, .maxntid, static
//   shared memory, .target checked against the device), cubins and fatbins
//   (ELF symbol tables, the architecture of each image); functions by name
//   (CUDA_ERROR_NOT_FOUND); use of an unloaded module or its functions
//   (CUDA_ERROR_INVALID_HANDLE);
// * streams and events (unknown or destroyed handles: INVALID_HANDLE);
// * device memory in host memory: allocations live in one reserved address
//   range with an inaccessible guard page after each, so pointers are
//   classified as device or host; copies and memsets out of an allocation's
//   bounds, frees of pointers that are not live allocations (double free)
//   and use of freed memory are CUDA_ERROR_INVALID_VALUE. New memory reads
//   as 0xff bytes (NaN);
// * launches: null or stale functions (INVALID_HANDLE), grid and block
//   limits, .maxntid (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES), dynamic shared
//   memory above 48 KB without cuFuncSetAttribute, parameter buffers.
//
// Kernels are not executed. Every call is appended to the log named by
// KVQ_CUDA_DOUBLE_LOG (launches with kernel name, grid, block, shared
// memory and stream), errors with the check that failed. Faults can be
// injected per call (kvq_cuda_double.h).
//
//===----------------------------------------------------------------------===//

#include "kvq_cuda_double.h"

#include <cuda.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#define KVQ_EXPORT extern "C" __attribute__((visibility("default")))

//===----------------------------------------------------------------------===//
// Objects
//===----------------------------------------------------------------------===//

struct CUctx_st {
  int id;
  int device;
  int refs = 0; // primary context references; 0: inactive
};

struct KernelInfo {
  bool known = false; // parameters and limits parsed (PTX)
  std::vector<size_t> paramSizes;
  long maxThreads = 0; // .maxntid product (0: none)
  long staticShared = 0;
};

struct CUmod_st {
  int id;
  CUctx_st *ctx;
  bool live = true;
  std::string kind;       // ptx, cubin, fatbin
  bool namesKnown = true; // false: a compressed PTX image was chosen
  std::map<std::string, KernelInfo> kernels;
};

struct CUfunc_st {
  int id;
  CUmod_st *module;
  std::string name;
  KernelInfo info;
  int maxDynamicShared = 48 * 1024;
};

struct CUstream_st {
  int id;
  CUctx_st *ctx;
  bool live = true;
};

struct CUevent_st {
  int id;
  CUctx_st *ctx;
  bool live = true;
};

namespace {

struct Allocation {
  uintptr_t start;
  size_t size;
  size_t mapped;
  CUctx_st *ctx;
  bool live;
  bool managed;
  int id;
};

constexpr size_t kReserve = size_t(1) << 32; // device address space
constexpr size_t kPage = 4096;
constexpr int kMaxSharedOptIn = 232448; // sm_90: 227 KB per block

struct State {
  std::recursive_mutex mutex;
  bool initialized = false;
  bool deinitialized = false;
  int devices = 1;
  int sm = 90;
  std::vector<CUctx_st *> primary; // per device
  std::set<CUctx_st *> contexts;
  std::set<CUmod_st *> modules;
  std::set<CUfunc_st *> functions;
  std::map<std::pair<CUmod_st *, std::string>, CUfunc_st *> functionByName;
  std::set<CUstream_st *> streams;
  std::set<CUevent_st *> events;
  std::map<uintptr_t, Allocation> allocations; // by start
  uintptr_t base = 0, next = 0;
  int nextId = 1;
  int launches = 0;
  std::map<std::string, int> callCounts;
  std::map<std::string, std::map<int, CUresult>>
      faults; // call -> count -> code
  FILE *log = nullptr;
  bool logOpened = false;
};

State &state() {
  static State *s = new State(); // never destroyed: used by exit handlers
  return *s;
}

/// The calling thread's stack of current contexts. Trivially destructible
/// on purpose: exit runs the main thread's thread_local destructors before
/// the exit handlers, which still push and pop contexts.
struct ContextStack {
  static constexpr int kCapacity = 64;
  CUctx_st *entries[kCapacity];
  int depth;
  bool empty() const { return depth == 0; }
  int size() const { return depth; }
  CUctx_st *back() const { return entries[depth - 1]; }
  bool push_back(CUctx_st *ctx) {
    if (depth == kCapacity)
      return false;
    entries[depth++] = ctx;
    return true;
  }
  void pop_back() { --depth; }
};
thread_local ContextStack contextStack = {};

void logLine(const char *format, ...) {
  State &s = state();
  if (!s.logOpened) {
    s.logOpened = true;
    if (const char *path = std::getenv("KVQ_CUDA_DOUBLE_LOG"))
      s.log = std::fopen(path, "a");
  }
  if (!s.log)
    return;
  va_list args;
  va_start(args, format);
  std::vfprintf(s.log, format, args);
  va_end(args);
  std::fputc('\n', s.log);
  std::fflush(s.log);
}

const char *errorName(CUresult r) {
  switch (r) {
  case CUDA_SUCCESS:
    return "CUDA_SUCCESS";
  case CUDA_ERROR_INVALID_VALUE:
    return "CUDA_ERROR_INVALID_VALUE";
  case CUDA_ERROR_OUT_OF_MEMORY:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_NOT_INITIALIZED:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case CUDA_ERROR_DEINITIALIZED:
    return "CUDA_ERROR_DEINITIALIZED";
  case CUDA_ERROR_NO_DEVICE:
    return "CUDA_ERROR_NO_DEVICE";
  case CUDA_ERROR_INVALID_DEVICE:
    return "CUDA_ERROR_INVALID_DEVICE";
  case CUDA_ERROR_INVALID_IMAGE:
    return "CUDA_ERROR_INVALID_IMAGE";
  case CUDA_ERROR_INVALID_CONTEXT:
    return "CUDA_ERROR_INVALID_CONTEXT";
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case CUDA_ERROR_INVALID_PTX:
    return "CUDA_ERROR_INVALID_PTX";
  case CUDA_ERROR_INVALID_HANDLE:
    return "CUDA_ERROR_INVALID_HANDLE";
  case CUDA_ERROR_NOT_FOUND:
    return "CUDA_ERROR_NOT_FOUND";
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case CUDA_ERROR_LAUNCH_FAILED:
    return "CUDA_ERROR_LAUNCH_FAILED";
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case CUDA_ERROR_UNKNOWN:
    return "CUDA_ERROR_UNKNOWN";
  default:
    return nullptr;
  }
}

const char *errorString(CUresult r) {
  switch (r) {
  case CUDA_SUCCESS:
    return "no error";
  case CUDA_ERROR_INVALID_VALUE:
    return "invalid argument";
  case CUDA_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case CUDA_ERROR_NOT_INITIALIZED:
    return "initialization error";
  case CUDA_ERROR_DEINITIALIZED:
    return "driver shutting down";
  case CUDA_ERROR_NO_DEVICE:
    return "no CUDA-capable device is detected";
  case CUDA_ERROR_INVALID_DEVICE:
    return "invalid device ordinal";
  case CUDA_ERROR_INVALID_IMAGE:
    return "device kernel image is invalid";
  case CUDA_ERROR_INVALID_CONTEXT:
    return "invalid device context";
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
    return "no kernel image is available for execution on the device";
  case CUDA_ERROR_INVALID_PTX:
    return "a PTX JIT compilation failed";
  case CUDA_ERROR_INVALID_HANDLE:
    return "invalid resource handle";
  case CUDA_ERROR_NOT_FOUND:
    return "named symbol not found";
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
    return "too many resources requested for launch";
  case CUDA_ERROR_LAUNCH_FAILED:
    return "unspecified launch failure";
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    return "an illegal memory access was encountered";
  case CUDA_ERROR_UNKNOWN:
    return "unknown error";
  default:
    return nullptr;
  }
}

/// Logs a refused call and returns its code.
CUresult refuse(const char *call, CUresult code, const std::string &why) {
  logLine("error %s: %s (%s)", call, errorName(code), why.c_str());
  return code;
}

std::string hex(uintptr_t v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%#lx", static_cast<unsigned long>(v));
  return buffer;
}

/// The common entry checks: initialized, not torn down, injected faults.
/// Returns CUDA_SUCCESS to proceed.
CUresult enter(const char *call, bool needsInit = true) {
  State &s = state();
  if (s.deinitialized)
    return refuse(call, CUDA_ERROR_DEINITIALIZED, "after the driver's exit");
  int count = ++s.callCounts[call];
  auto fault = s.faults.find(call);
  if (fault != s.faults.end()) {
    auto it = fault->second.find(count);
    if (it != fault->second.end())
      return refuse(call, it->second, "injected");
  }
  if (needsInit && !s.initialized)
    return refuse(call, CUDA_ERROR_NOT_INITIALIZED, "cuInit was not called");
  return CUDA_SUCCESS;
}

CUctx_st *current() {
  return contextStack.empty() ? nullptr : contextStack.back();
}

/// The current context, which must exist and be active.
CUresult needContext(const char *call, CUctx_st *&ctx) {
  ctx = current();
  if (!ctx)
    return refuse(call, CUDA_ERROR_INVALID_CONTEXT, "no current context");
  if (ctx->refs <= 0)
    return refuse(call, CUDA_ERROR_INVALID_CONTEXT,
                  "the current context was destroyed");
  return CUDA_SUCCESS;
}

std::string streamName(CUstream stream) {
  if (!stream || stream == CU_STREAM_LEGACY)
    return "null";
  if (stream == CU_STREAM_PER_THREAD)
    return "per-thread";
  return "S" + std::to_string(stream->id);
}

/// A stream usable in context `ctx` (null and the special handles are).
CUresult checkStream(const char *call, CUstream stream, CUctx_st *ctx) {
  if (!stream || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD)
    return CUDA_SUCCESS;
  State &s = state();
  if (!s.streams.count(stream))
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "unknown stream " + hex(reinterpret_cast<uintptr_t>(stream)));
  if (!stream->live)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "stream " + streamName(stream) + " was destroyed");
  if (stream->ctx != ctx)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "stream " + streamName(stream) +
                      " belongs to another context");
  return CUDA_SUCCESS;
}

bool isDevicePointer(uintptr_t p) {
  State &s = state();
  return s.base && p >= s.base && p < s.base + kReserve;
}

/// The allocation whose pages hold `p`, or null.
Allocation *allocationAt(uintptr_t p) {
  State &s = state();
  auto it = s.allocations.upper_bound(p);
  if (it == s.allocations.begin())
    return nullptr;
  --it;
  if (p >= it->second.start + it->second.mapped)
    return nullptr;
  return &it->second;
}

/// `bytes` at `p` lie in one live allocation (device pointers) or are host
/// memory.
CUresult checkRange(const char *call, const char *what, uintptr_t p,
                    size_t bytes) {
  if (!isDevicePointer(p))
    return CUDA_SUCCESS;
  Allocation *a = allocationAt(p);
  if (!a)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  std::string(what) + " " + hex(p) +
                      " is in no device allocation");
  if (!a->live)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  std::string(what) + " " + hex(p) + " is in allocation A" +
                      std::to_string(a->id) + ", which was freed");
  if (p - a->start + bytes > a->size)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  std::string(what) + ": " + std::to_string(bytes) +
                      " bytes at offset " + std::to_string(p - a->start) +
                      " overrun the " + std::to_string(a->size) +
                      "-byte allocation A" + std::to_string(a->id));
  return CUDA_SUCCESS;
}

const char *copyKind(uintptr_t dst, uintptr_t src) {
  bool d = isDevicePointer(dst), h = isDevicePointer(src);
  return d ? (h ? "DtoD" : "HtoD") : (h ? "DtoH" : "HtoH");
}

CUresult allocate(const char *call, CUdeviceptr *ptr, size_t bytes,
                  CUctx_st *ctx, bool managed) {
  State &s = state();
  if (!ptr)
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "null result pointer");
  if (bytes == 0)
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "0 bytes");
  if (!s.base) {
    void *region = mmap(nullptr, kReserve, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED)
      return refuse(call, CUDA_ERROR_OUT_OF_MEMORY,
                    "cannot reserve the device address range");
    s.base = s.next = reinterpret_cast<uintptr_t>(region);
  }
  size_t mapped = (bytes + kPage - 1) / kPage * kPage;
  if (s.next + mapped + kPage > s.base + kReserve)
    return refuse(call, CUDA_ERROR_OUT_OF_MEMORY,
                  std::to_string(bytes) + " bytes: device memory exhausted");
  uintptr_t start = s.next;
  if (mprotect(reinterpret_cast<void *>(start), mapped,
               PROT_READ | PROT_WRITE) != 0)
    return refuse(call, CUDA_ERROR_OUT_OF_MEMORY, "mprotect failed");
  std::memset(reinterpret_cast<void *>(start), 0xff, mapped);
  s.next += mapped + kPage; // a guard page after every allocation
  int id = s.nextId++;
  s.allocations[start] = {start, bytes, mapped, ctx, true, managed, id};
  *ptr = start;
  return CUDA_SUCCESS;
}

CUresult release(const char *call, CUdeviceptr ptr, CUctx_st *ctx) {
  State &s = state();
  if (!ptr)
    return CUDA_SUCCESS; // freeing null is a no-op
  auto it = s.allocations.find(ptr);
  if (it == s.allocations.end()) {
    Allocation *inside = allocationAt(ptr);
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  inside ? hex(ptr) + " is inside allocation A" +
                               std::to_string(inside->id) + ", not its start"
                         : hex(ptr) + " is not a device allocation");
  }
  Allocation &a = it->second;
  if (!a.live)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  "A" + std::to_string(a.id) + " was already freed");
  if (a.ctx != ctx)
    return refuse(call, CUDA_ERROR_INVALID_CONTEXT,
                  "A" + std::to_string(a.id) + " belongs to another context");
  a.live = false;
  mprotect(reinterpret_cast<void *>(a.start), a.mapped, PROT_NONE);
  return CUDA_SUCCESS;
}

/// Destroys what context `ctx` owns (its last primary reference is gone).
void destroyContextObjects(CUctx_st *ctx) {
  State &s = state();
  for (CUmod_st *m : s.modules)
    if (m->ctx == ctx)
      m->live = false;
  for (CUstream_st *st : s.streams)
    if (st->ctx == ctx)
      st->live = false;
  for (CUevent_st *e : s.events)
    if (e->ctx == ctx)
      e->live = false;
  for (auto &entry : s.allocations)
    if (entry.second.ctx == ctx && entry.second.live) {
      entry.second.live = false;
      mprotect(reinterpret_cast<void *>(entry.second.start),
               entry.second.mapped, PROT_NONE);
    }
}

int liveCount(const char *kind) {
  State &s = state();
  std::string k(kind ? kind : "");
  int n = 0;
  if (k == "modules") {
    for (CUmod_st *m : s.modules)
      n += m->live;
  } else if (k == "functions") {
    for (CUfunc_st *f : s.functions)
      n += f->module->live;
  } else if (k == "streams") {
    for (CUstream_st *st : s.streams)
      n += st->live;
  } else if (k == "events") {
    for (CUevent_st *e : s.events)
      n += e->live;
  } else if (k == "allocations") {
    for (auto &entry : s.allocations)
      n += entry.second.live;
  } else {
    return -1;
  }
  return n;
}

/// The driver's own teardown at process exit (registered by cuInit, so it
/// runs after exit handlers registered later): every context is gone and
/// every later call fails with CUDA_ERROR_DEINITIALIZED.
void teardown() {
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  std::string leaked;
  for (CUmod_st *m : s.modules)
    if (m->live)
      leaked += " M" + std::to_string(m->id);
  logLine("exit: live modules %d, allocations %d, streams %d, events %d%s%s",
          liveCount("modules"), liveCount("allocations"), liveCount("streams"),
          liveCount("events"),
          leaked.empty() ? "" : "; modules still loaded:", leaked.c_str());
  for (CUctx_st *ctx : s.contexts)
    destroyContextObjects(ctx);
  s.deinitialized = true;
}

//===----------------------------------------------------------------------===//
// Kernel images
//===----------------------------------------------------------------------===//

bool startsWith(const std::string &text, size_t at, const char *prefix) {
  return text.compare(at, std::strlen(prefix), prefix) == 0;
}

size_t ptxTypeSize(const std::string &type) {
  if (type.size() < 3)
    return 0;
  int bits = std::atoi(type.c_str() + 2);
  return bits / 8;
}

/// Parses PTX text: the target architecture and each .entry's parameters,
/// .maxntid and the module's static shared memory. Returns false (with
/// `why`) if it is not PTX the device can run.
bool parsePTX(const std::string &ptx, int sm, CUmod_st &module, CUresult &code,
              std::string &why) {
  size_t version = ptx.find(".version");
  size_t target = ptx.find(".target");
  if (version == std::string::npos || target == std::string::npos) {
    code = CUDA_ERROR_INVALID_PTX;
    why = "no .version / .target directive";
    return false;
  }
  size_t smAt = ptx.find("sm_", target);
  int ptxSM = smAt == std::string::npos ? 0 : std::atoi(ptx.c_str() + smAt + 3);
  if (ptxSM == 0 || ptxSM > sm) {
    code = CUDA_ERROR_NO_BINARY_FOR_GPU;
    why = "PTX for sm_" + std::to_string(ptxSM) + " on an sm_" +
          std::to_string(sm) + " device";
    return false;
  }
  // Static shared memory: `.shared .align A .bN name[M];` declarations
  // (dynamic shared memory is `.extern .shared ... name[]`).
  long staticShared = 0;
  for (size_t lineStart = 0; lineStart < ptx.size();) {
    size_t lineEnd = ptx.find('\n', lineStart);
    if (lineEnd == std::string::npos)
      lineEnd = ptx.size();
    size_t first = ptx.find_first_not_of(" \t", lineStart);
    if (first < lineEnd && startsWith(ptx, first, ".shared")) {
      std::string line = ptx.substr(first, lineEnd - first);
      size_t bracket = line.find('[');
      size_t type = line.find(" .b");
      if (bracket != std::string::npos && type != std::string::npos)
        staticShared +=
            std::atol(line.c_str() + bracket + 1) *
            std::max<size_t>(1, ptxTypeSize(line.substr(type + 1, 4)));
    }
    lineStart = lineEnd + 1;
  }
  for (size_t at = ptx.find(".entry"); at != std::string::npos;
       at = ptx.find(".entry", at + 1)) {
    size_t nameStart = ptx.find_first_not_of(" \t", at + 6);
    size_t nameEnd = ptx.find_first_of("( \t\n", nameStart);
    std::string name = ptx.substr(nameStart, nameEnd - nameStart);
    KernelInfo info;
    info.known = true;
    info.staticShared = staticShared;
    size_t open = ptx.find('(', nameEnd), close = ptx.find(')', open);
    size_t body = ptx.find('{', nameEnd);
    if (open != std::string::npos && close != std::string::npos &&
        open < body) {
      std::string params = ptx.substr(open + 1, close - open - 1);
      for (size_t p = params.find(".param"); p != std::string::npos;
           p = params.find(".param", p + 1)) {
        size_t end = params.find(',', p);
        std::string decl = params.substr(p, end - p);
        size_t typeAt = decl.find(" .", 6);
        while (typeAt != std::string::npos &&
               (startsWith(decl, typeAt + 1, ".align") ||
                startsWith(decl, typeAt + 1, ".ptr") ||
                startsWith(decl, typeAt + 1, ".global")))
          typeAt = decl.find(" .", typeAt + 2);
        size_t size = 0;
        if (typeAt != std::string::npos)
          size = ptxTypeSize(decl.substr(typeAt + 1, 4));
        size_t bracket = decl.find('[');
        if (bracket != std::string::npos)
          size *= std::atol(decl.c_str() + bracket + 1);
        info.paramSizes.push_back(size);
      }
      std::string directives = ptx.substr(close, body - close);
      size_t maxAt = directives.find(".maxntid");
      if (maxAt == std::string::npos)
        maxAt = directives.find(".reqntid");
      if (maxAt != std::string::npos) {
        long product = 1;
        const char *c = directives.c_str() + maxAt + 8;
        for (int i = 0; i < 3; ++i) {
          while (*c == ' ' || *c == ',' || *c == '\t')
            ++c;
          if (*c < '0' || *c > '9')
            break;
          char *end;
          product *= std::strtol(c, &end, 10);
          c = end;
        }
        info.maxThreads = product;
      }
    }
    module.kernels[name] = info;
  }
  if (module.kernels.empty()) {
    code = CUDA_ERROR_INVALID_PTX;
    why = "no .entry";
    return false;
  }
  return true;
}

template <typename T>
T readAt(const unsigned char *data, size_t size, size_t at) {
  T value{};
  if (at + sizeof(T) <= size)
    std::memcpy(&value, data + at, sizeof(T));
  return value;
}

/// The architecture (sm) of a CUDA ELF image and its function symbols.
bool parseCubin(const unsigned char *elf, size_t size, int &sm,
                CUmod_st &module) {
  if (size < 64 ||
      std::memcmp(elf,
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      elf[4] != 2 || readAt<uint16_t>(elf, size, 18) != 190 /* EM_CUDA */)
    return false;
  uint32_t flags = readAt<uint32_t>(elf, size, 48);
  sm = elf[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;
  uint64_t shoff = readAt<uint64_t>(elf, size, 0x28);
  uint16_t shentsize = readAt<uint16_t>(elf, size, 0x3a);
  uint16_t shnum = readAt<uint16_t>(elf, size, 0x3c);
  for (uint16_t i = 0; i < shnum; ++i) {
    size_t sh = shoff + size_t(i) * shentsize;
    if (readAt<uint32_t>(elf, size, sh + 4) != 2 /* SHT_SYMTAB */)
      continue;
    uint64_t off = readAt<uint64_t>(elf, size, sh + 0x18);
    uint64_t bytes = readAt<uint64_t>(elf, size, sh + 0x20);
    uint32_t link = readAt<uint32_t>(elf, size, sh + 0x28);
    uint64_t entsize = readAt<uint64_t>(elf, size, sh + 0x38);
    size_t strSh = shoff + size_t(link) * shentsize;
    uint64_t strOff = readAt<uint64_t>(elf, size, strSh + 0x18);
    uint64_t strBytes = readAt<uint64_t>(elf, size, strSh + 0x20);
    if (!entsize || off + bytes > size || strOff + strBytes > size)
      return false;
    for (uint64_t e = off; e + entsize <= off + bytes; e += entsize) {
      uint32_t name = readAt<uint32_t>(elf, size, e);
      unsigned char info = elf[e + 4];
      if ((info & 0xf) != 2 /* STT_FUNC */ || name >= strBytes)
        continue;
      const char *text = reinterpret_cast<const char *>(elf + strOff + name);
      module.kernels[std::string(text, strnlen(text, strBytes - name))] =
          KernelInfo();
    }
  }
  return true;
}

/// Whether `bytes` starts with `magic`, reading no byte past a mismatch
/// (the image may be a short string).
bool hasMagic(const unsigned char *bytes, const char *magic, size_t size) {
  for (size_t i = 0; i < size; ++i)
    if (bytes[i] != static_cast<unsigned char>(magic[i]))
      return false;
  return true;
}

/// Loads `image` (PTX text, a cubin or a fatbin) into `module`.
bool parseImage(const void *image, int sm, CUmod_st &module, CUresult &code,
                std::string &why) {
  const auto *bytes = static_cast<const unsigned char *>(image);
  if (hasMagic(bytes, "\x50\xed\x55\xba", 4)) {
    module.kind = "fatbin";
    uint16_t headerSize = readAt<uint16_t>(bytes, 16, 6);
    uint64_t fatSize = readAt<uint64_t>(bytes, 16, 8);
    size_t total = headerSize + fatSize;
    bool ptxFallback = false;
    for (size_t at = headerSize; at + 64 <= total;) {
      uint16_t kind = readAt<uint16_t>(bytes, total, at);
      uint32_t entryHeader = readAt<uint32_t>(bytes, total, at + 4);
      uint64_t payload = readAt<uint64_t>(bytes, total, at + 8);
      uint32_t arch = readAt<uint32_t>(bytes, total, at + 28);
      const unsigned char *data = bytes + at + entryHeader;
      if (kind == 2 && int(arch) == sm) {
        int elfSM = 0;
        if (parseCubin(data, payload, elfSM, module) && elfSM == sm)
          return true;
      } else if (kind == 1 && int(arch) <= sm) {
        ptxFallback = true;
      }
      if (!entryHeader)
        break;
      at += entryHeader + payload;
    }
    if (ptxFallback) {
      // The PTX of a fatbin is compressed: its entries are not known.
      module.namesKnown = false;
      return true;
    }
    code = CUDA_ERROR_NO_BINARY_FOR_GPU;
    why = "the fatbin has no cubin or PTX for sm_" + std::to_string(sm);
    return false;
  }
  if (hasMagic(bytes,
               "\x7f"
               "ELF",
               4)) {
    module.kind = "cubin";
    int elfSM = 0;
    // The image's size: up to the end of its section headers.
    size_t size = readAt<uint64_t>(bytes, 64, 0x28) +
                  size_t(readAt<uint16_t>(bytes, 64, 0x3c)) *
                      readAt<uint16_t>(bytes, 64, 0x3a);
    if (!parseCubin(bytes, size, elfSM, module)) {
      code = CUDA_ERROR_INVALID_IMAGE;
      why = "not a CUDA ELF image";
      return false;
    }
    if (elfSM != sm) {
      code = CUDA_ERROR_NO_BINARY_FOR_GPU;
      why = "cubin for sm_" + std::to_string(elfSM) + " on an sm_" +
            std::to_string(sm) + " device";
      return false;
    }
    return true;
  }
  // PTX is text.
  std::string text(static_cast<const char *>(image),
                   strnlen(static_cast<const char *>(image), 64 << 20));
  if (text.find(".version") == std::string::npos) {
    code = CUDA_ERROR_INVALID_IMAGE;
    why = "neither PTX, a cubin nor a fatbin";
    return false;
  }
  module.kind = "ptx";
  return parsePTX(text, sm, module, code, why);
}

CUresult loadModule(const char *call, CUmodule *result, const void *image,
                    std::string &why) {
  State &s = state();
  CUctx_st *ctx;
  if (CUresult r = needContext(call, ctx))
    return r;
  if (!result || !image)
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "null module or image");
  auto *module = new CUmod_st();
  module->id = s.nextId++;
  module->ctx = ctx;
  CUresult code = CUDA_SUCCESS;
  if (!parseImage(image, s.sm, *module, code, why)) {
    delete module;
    return refuse(call, code, why);
  }
  s.modules.insert(module);
  *result = module;
  std::string names;
  for (auto &kernel : module->kernels)
    names += " " + kernel.first;
  logLine("module load M%d %s%s%s", module->id, module->kind.c_str(),
          module->namesKnown ? ":" : " (entries unknown)", names.c_str());
  return CUDA_SUCCESS;
}

/// A live module of the current context.
CUresult checkModule(const char *call, CUmodule module, CUctx_st *ctx) {
  State &s = state();
  if (!module || !s.modules.count(module))
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "unknown module " + hex(reinterpret_cast<uintptr_t>(module)));
  if (!module->live)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "module M" + std::to_string(module->id) + " was unloaded");
  if (module->ctx != ctx)
    return refuse(call, CUDA_ERROR_INVALID_CONTEXT,
                  "module M" + std::to_string(module->id) +
                      " belongs to another context");
  return CUDA_SUCCESS;
}

CUresult checkFunction(const char *call, CUfunction f, CUctx_st *ctx) {
  State &s = state();
  if (!f)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE, "null function");
  if (!s.functions.count(f))
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "unknown function " + hex(reinterpret_cast<uintptr_t>(f)));
  if (!f->module->live)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "function " + f->name + " of unloaded module M" +
                      std::to_string(f->module->id));
  if (f->module->ctx != ctx)
    return refuse(call, CUDA_ERROR_INVALID_CONTEXT,
                  "function " + f->name + " belongs to another context");
  return CUDA_SUCCESS;
}

CUresult checkEvent(const char *call, CUevent e, CUctx_st *ctx) {
  State &s = state();
  if (!e || !s.events.count(e))
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "unknown event " + hex(reinterpret_cast<uintptr_t>(e)));
  if (!e->live)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "event E" + std::to_string(e->id) + " was destroyed");
  if (e->ctx != ctx)
    return refuse(call, CUDA_ERROR_INVALID_HANDLE,
                  "event E" + std::to_string(e->id) +
                      " belongs to another context");
  return CUDA_SUCCESS;
}

#define LOCK()                                                                 \
  std::lock_guard<std::recursive_mutex> lock(state().mutex);                   \
  (void)lock
#define ENTER(name)                                                            \
  LOCK();                                                                      \
  if (CUresult entered = enter(name))                                          \
  return entered
#define CONTEXT(name, ctx)                                                     \
  CUctx_st *ctx = nullptr;                                                     \
  if (CUresult r = needContext(name, ctx))                                     \
  return r

} // namespace

//===----------------------------------------------------------------------===//
// The driver API
//===----------------------------------------------------------------------===//

KVQ_EXPORT CUresult CUDAAPI cuGetErrorName(CUresult error, const char **str) {
  if (!str)
    return CUDA_ERROR_INVALID_VALUE;
  *str = errorName(error);
  return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

KVQ_EXPORT CUresult CUDAAPI cuGetErrorString(CUresult error, const char **str) {
  if (!str)
    return CUDA_ERROR_INVALID_VALUE;
  *str = errorString(error);
  return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

KVQ_EXPORT CUresult CUDAAPI cuInit(unsigned int flags) {
  LOCK();
  State &s = state();
  if (CUresult r = enter("cuInit", /*needsInit=*/false))
    return r;
  if (flags != 0)
    return refuse("cuInit", CUDA_ERROR_INVALID_VALUE, "flags must be 0");
  if (s.initialized)
    return CUDA_SUCCESS;
  if (const char *n = std::getenv("KVQ_CUDA_DOUBLE_DEVICES"))
    s.devices = std::atoi(n);
  if (const char *n = std::getenv("KVQ_CUDA_DOUBLE_SM"))
    s.sm = std::atoi(n);
  if (const char *faults = std::getenv("KVQ_CUDA_DOUBLE_FAIL")) {
    std::string spec(faults);
    for (size_t at = 0; at < spec.size();) {
      size_t end = spec.find(',', at);
      std::string item = spec.substr(at, end - at);
      size_t c1 = item.find(':'), c2 = item.find(':', c1 + 1);
      if (c1 != std::string::npos && c2 != std::string::npos)
        s.faults[item.substr(0, c1)][std::atoi(item.c_str() + c1 + 1)] =
            static_cast<CUresult>(std::atoi(item.c_str() + c2 + 1));
      at = end == std::string::npos ? spec.size() : end + 1;
    }
  }
  if (s.devices <= 0)
    return refuse("cuInit", CUDA_ERROR_NO_DEVICE, "no device");
  for (int d = 0; d < s.devices; ++d) {
    auto *ctx = new CUctx_st{s.nextId++, d};
    s.primary.push_back(ctx);
    s.contexts.insert(ctx);
  }
  s.initialized = true;
  // The driver tears its contexts down at exit, like the real one.
  std::atexit(teardown);
  logLine("init: %d device(s) sm_%d", s.devices, s.sm);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuDeviceGetCount(int *count) {
  ENTER("cuDeviceGetCount");
  if (!count)
    return refuse("cuDeviceGetCount", CUDA_ERROR_INVALID_VALUE, "null");
  *count = state().devices;
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal) {
  ENTER("cuDeviceGet");
  if (!device)
    return refuse("cuDeviceGet", CUDA_ERROR_INVALID_VALUE, "null");
  if (ordinal < 0 || ordinal >= state().devices)
    return refuse("cuDeviceGet", CUDA_ERROR_INVALID_DEVICE,
                  "ordinal " + std::to_string(ordinal));
  *device = ordinal;
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *ctx,
                                                     CUdevice device) {
  ENTER("cuDevicePrimaryCtxRetain");
  State &s = state();
  if (!ctx)
    return refuse("cuDevicePrimaryCtxRetain", CUDA_ERROR_INVALID_VALUE, "null");
  if (device < 0 || device >= s.devices)
    return refuse("cuDevicePrimaryCtxRetain", CUDA_ERROR_INVALID_DEVICE,
                  "device " + std::to_string(device));
  CUctx_st *primary = s.primary[device];
  ++primary->refs;
  *ctx = primary;
  logLine("primary context C%d of device %d retained (%d)", primary->id, device,
          primary->refs);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice device) {
  ENTER("cuDevicePrimaryCtxRelease");
  State &s = state();
  if (device < 0 || device >= s.devices)
    return refuse("cuDevicePrimaryCtxRelease", CUDA_ERROR_INVALID_DEVICE,
                  "device " + std::to_string(device));
  CUctx_st *primary = s.primary[device];
  if (primary->refs <= 0)
    return refuse("cuDevicePrimaryCtxRelease", CUDA_ERROR_INVALID_CONTEXT,
                  "not retained");
  if (--primary->refs == 0)
    destroyContextObjects(primary);
  logLine("primary context C%d of device %d released (%d)", primary->id, device,
          primary->refs);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuCtxPushCurrent(CUcontext ctx) {
  ENTER("cuCtxPushCurrent");
  if (!ctx || !state().contexts.count(ctx))
    return refuse("cuCtxPushCurrent", CUDA_ERROR_INVALID_CONTEXT,
                  "unknown context");
  if (ctx->refs <= 0)
    return refuse("cuCtxPushCurrent", CUDA_ERROR_INVALID_CONTEXT,
                  "context C" + std::to_string(ctx->id) + " is not active");
  if (!contextStack.push_back(ctx))
    return refuse("cuCtxPushCurrent", CUDA_ERROR_INVALID_VALUE,
                  "more than 64 contexts pushed");
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuCtxPopCurrent(CUcontext *ctx) {
  ENTER("cuCtxPopCurrent");
  if (contextStack.empty())
    return refuse("cuCtxPopCurrent", CUDA_ERROR_INVALID_CONTEXT,
                  "no current context");
  if (ctx)
    *ctx = contextStack.back();
  contextStack.pop_back();
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuCtxGetCurrent(CUcontext *ctx) {
  ENTER("cuCtxGetCurrent");
  if (!ctx)
    return refuse("cuCtxGetCurrent", CUDA_ERROR_INVALID_VALUE, "null");
  *ctx = current();
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
  ENTER("cuCtxSetCurrent");
  if (ctx && (!state().contexts.count(ctx) || ctx->refs <= 0))
    return refuse("cuCtxSetCurrent", CUDA_ERROR_INVALID_CONTEXT,
                  "unknown or inactive context");
  if (!contextStack.empty())
    contextStack.pop_back();
  if (ctx)
    contextStack.push_back(ctx); // room: one was popped, or the stack is empty
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuModuleLoadData(CUmodule *module,
                                             const void *image) {
  ENTER("cuModuleLoadData");
  std::string why;
  return loadModule("cuModuleLoadData", module, image, why);
}

KVQ_EXPORT CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *module,
                                               const void *image,
                                               unsigned int numOptions,
                                               CUjit_option *options,
                                               void **values) {
  ENTER("cuModuleLoadDataEx");
  if (numOptions && (!options || !values))
    return refuse("cuModuleLoadDataEx", CUDA_ERROR_INVALID_VALUE,
                  "options without values");
  char *logBuffer = nullptr;
  size_t logSize = 0;
  for (unsigned i = 0; i < numOptions; ++i) {
    uintptr_t value = reinterpret_cast<uintptr_t>(values[i]);
    switch (options[i]) {
    case CU_JIT_OPTIMIZATION_LEVEL:
      if (value > 4)
        return refuse("cuModuleLoadDataEx", CUDA_ERROR_INVALID_VALUE,
                      "optimization level " + std::to_string(value));
      break;
    case CU_JIT_ERROR_LOG_BUFFER:
      logBuffer = static_cast<char *>(values[i]);
      break;
    case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
      logSize = value;
      break;
    default:
      break;
    }
  }
  std::string why;
  CUresult r = loadModule("cuModuleLoadDataEx", module, image, why);
  if (r != CUDA_SUCCESS && logBuffer && logSize)
    std::snprintf(logBuffer, logSize, "ptxas fatal: %s", why.c_str());
  return r;
}

KVQ_EXPORT CUresult CUDAAPI cuModuleUnload(CUmodule module) {
  ENTER("cuModuleUnload");
  CONTEXT("cuModuleUnload", ctx);
  if (CUresult r = checkModule("cuModuleUnload", module, ctx))
    return r;
  module->live = false;
  logLine("module unload M%d", module->id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuModuleGetFunction(CUfunction *function,
                                                CUmodule module,
                                                const char *name) {
  ENTER("cuModuleGetFunction");
  CONTEXT("cuModuleGetFunction", ctx);
  State &s = state();
  if (!function || !name)
    return refuse("cuModuleGetFunction", CUDA_ERROR_INVALID_VALUE, "null");
  if (CUresult r = checkModule("cuModuleGetFunction", module, ctx))
    return r;
  auto kernel = module->kernels.find(name);
  if (kernel == module->kernels.end() && module->namesKnown)
    return refuse("cuModuleGetFunction", CUDA_ERROR_NOT_FOUND,
                  std::string(name) + " in module M" +
                      std::to_string(module->id));
  CUfunc_st *&f = s.functionByName[{module, name}];
  if (!f) {
    f = new CUfunc_st();
    f->id = s.nextId++;
    f->module = module;
    f->name = name;
    if (kernel != module->kernels.end())
      f->info = kernel->second;
    s.functions.insert(f);
  }
  *function = f;
  logLine("function M%d %s", module->id, name);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuFuncSetAttribute(CUfunction function,
                                               CUfunction_attribute attribute,
                                               int value) {
  ENTER("cuFuncSetAttribute");
  CONTEXT("cuFuncSetAttribute", ctx);
  if (CUresult r = checkFunction("cuFuncSetAttribute", function, ctx))
    return r;
  if (attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) {
    if (value < 0 || value + function->info.staticShared > kMaxSharedOptIn)
      return refuse(
          "cuFuncSetAttribute", CUDA_ERROR_INVALID_VALUE,
          std::to_string(value) + " bytes of dynamic shared memory (at most " +
              std::to_string(kMaxSharedOptIn - function->info.staticShared) +
              ")");
    function->maxDynamicShared = value;
  }
  logLine("attribute %s %d = %d", function->name.c_str(), int(attribute),
          value);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuLaunchKernel(
    CUfunction f, unsigned int gridX, unsigned int gridY, unsigned int gridZ,
    unsigned int blockX, unsigned int blockY, unsigned int blockZ,
    unsigned int sharedBytes, CUstream stream, void **params, void **extra) {
  ENTER("cuLaunchKernel");
  CONTEXT("cuLaunchKernel", ctx);
  const char *call = "cuLaunchKernel";
  if (CUresult r = checkFunction(call, f, ctx))
    return r;
  if (CUresult r = checkStream(call, stream, ctx))
    return r;
  std::string shape =
      "grid=(" + std::to_string(gridX) + "," + std::to_string(gridY) + "," +
      std::to_string(gridZ) + ") block=(" + std::to_string(blockX) + "," +
      std::to_string(blockY) + "," + std::to_string(blockZ) + ")";
  if (!gridX || !gridY || !gridZ || !blockX || !blockY || !blockZ ||
      gridX > 0x7fffffffu || gridY > 65535 || gridZ > 65535 || blockX > 1024 ||
      blockY > 1024 || blockZ > 64 || long(blockX) * blockY * blockZ > 1024)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  f->name + ": " + shape + " out of limits");
  long threads = long(blockX) * blockY * blockZ;
  if (f->info.maxThreads && threads > f->info.maxThreads)
    return refuse(call, CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                  f->name + ": " + std::to_string(threads) +
                      " threads, .maxntid " +
                      std::to_string(f->info.maxThreads));
  if (long(sharedBytes) > f->maxDynamicShared)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  f->name + ": " + std::to_string(sharedBytes) +
                      " bytes of dynamic shared memory, allowed " +
                      std::to_string(f->maxDynamicShared));
  if (params && extra)
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "both params and extra");
  size_t count = f->info.paramSizes.size();
  if (f->info.known && count && !params && !extra)
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  f->name + ": no parameters for " + std::to_string(count));
  if (params) {
    // The driver copies every parameter when the launch is issued.
    std::vector<unsigned char> buffer;
    for (size_t i = 0; i < count; ++i) {
      if (!params[i])
        return refuse(call, CUDA_ERROR_INVALID_VALUE,
                      f->name + ": parameter " + std::to_string(i) +
                          " is null");
      const auto *p = static_cast<const unsigned char *>(params[i]);
      buffer.insert(buffer.end(), p, p + f->info.paramSizes[i]);
    }
  }
  ++state().launches;
  logLine("launch %s %s smem=%u stream=%s params=%zu", f->name.c_str(),
          shape.c_str(), sharedBytes, streamName(stream).c_str(), count);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuStreamCreate(CUstream *stream,
                                           unsigned int flags) {
  ENTER("cuStreamCreate");
  CONTEXT("cuStreamCreate", ctx);
  State &s = state();
  if (!stream)
    return refuse("cuStreamCreate", CUDA_ERROR_INVALID_VALUE, "null");
  if (flags & ~unsigned(CU_STREAM_NON_BLOCKING))
    return refuse("cuStreamCreate", CUDA_ERROR_INVALID_VALUE, "flags");
  auto *st = new CUstream_st{s.nextId++, ctx};
  s.streams.insert(st);
  *stream = st;
  logLine("stream create %s", streamName(st).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuStreamDestroy(CUstream stream) {
  ENTER("cuStreamDestroy");
  CONTEXT("cuStreamDestroy", ctx);
  if (!stream || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD)
    return refuse("cuStreamDestroy", CUDA_ERROR_INVALID_HANDLE,
                  "cannot destroy a default stream");
  if (CUresult r = checkStream("cuStreamDestroy", stream, ctx))
    return r;
  stream->live = false;
  logLine("stream destroy %s", streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuStreamSynchronize(CUstream stream) {
  ENTER("cuStreamSynchronize");
  CONTEXT("cuStreamSynchronize", ctx);
  if (CUresult r = checkStream("cuStreamSynchronize", stream, ctx))
    return r;
  logLine("stream sync %s", streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuStreamWaitEvent(CUstream stream, CUevent event,
                                              unsigned int flags) {
  ENTER("cuStreamWaitEvent");
  CONTEXT("cuStreamWaitEvent", ctx);
  if (CUresult r = checkStream("cuStreamWaitEvent", stream, ctx))
    return r;
  if (CUresult r = checkEvent("cuStreamWaitEvent", event, ctx))
    return r;
  if (flags & ~1u)
    return refuse("cuStreamWaitEvent", CUDA_ERROR_INVALID_VALUE, "flags");
  logLine("stream wait %s E%d", streamName(stream).c_str(), event->id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuEventCreate(CUevent *event, unsigned int flags) {
  ENTER("cuEventCreate");
  CONTEXT("cuEventCreate", ctx);
  State &s = state();
  if (!event)
    return refuse("cuEventCreate", CUDA_ERROR_INVALID_VALUE, "null");
  if (flags & ~0xfu)
    return refuse("cuEventCreate", CUDA_ERROR_INVALID_VALUE, "flags");
  auto *e = new CUevent_st{s.nextId++, ctx};
  s.events.insert(e);
  *event = e;
  logLine("event create E%d", e->id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuEventDestroy(CUevent event) {
  ENTER("cuEventDestroy");
  CONTEXT("cuEventDestroy", ctx);
  if (CUresult r = checkEvent("cuEventDestroy", event, ctx))
    return r;
  event->live = false;
  logLine("event destroy E%d", event->id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuEventSynchronize(CUevent event) {
  ENTER("cuEventSynchronize");
  CONTEXT("cuEventSynchronize", ctx);
  if (CUresult r = checkEvent("cuEventSynchronize", event, ctx))
    return r;
  logLine("event sync E%d", event->id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuEventRecord(CUevent event, CUstream stream) {
  ENTER("cuEventRecord");
  CONTEXT("cuEventRecord", ctx);
  if (CUresult r = checkEvent("cuEventRecord", event, ctx))
    return r;
  if (CUresult r = checkStream("cuEventRecord", stream, ctx))
    return r;
  logLine("event record E%d %s", event->id, streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemAlloc(CUdeviceptr *ptr, size_t bytes) {
  ENTER("cuMemAlloc");
  CONTEXT("cuMemAlloc", ctx);
  if (CUresult r = allocate("cuMemAlloc", ptr, bytes, ctx, false))
    return r;
  logLine("alloc A%d %zu bytes", state().allocations[*ptr].id, bytes);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr *ptr, size_t bytes,
                                            CUstream stream) {
  ENTER("cuMemAllocAsync");
  CONTEXT("cuMemAllocAsync", ctx);
  if (CUresult r = checkStream("cuMemAllocAsync", stream, ctx))
    return r;
  if (CUresult r = allocate("cuMemAllocAsync", ptr, bytes, ctx, false))
    return r;
  logLine("alloc A%d %zu bytes stream=%s", state().allocations[*ptr].id, bytes,
          streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes,
                                              unsigned int flags) {
  ENTER("cuMemAllocManaged");
  CONTEXT("cuMemAllocManaged", ctx);
  if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST)
    return refuse("cuMemAllocManaged", CUDA_ERROR_INVALID_VALUE, "flags");
  if (CUresult r = allocate("cuMemAllocManaged", ptr, bytes, ctx, true))
    return r;
  logLine("alloc A%d %zu bytes managed", state().allocations[*ptr].id, bytes);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemFree(CUdeviceptr ptr) {
  ENTER("cuMemFree");
  CONTEXT("cuMemFree", ctx);
  if (CUresult r = release("cuMemFree", ptr, ctx))
    return r;
  if (ptr)
    logLine("free A%d", state().allocations[ptr].id);
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr ptr, CUstream stream) {
  ENTER("cuMemFreeAsync");
  CONTEXT("cuMemFreeAsync", ctx);
  if (CUresult r = checkStream("cuMemFreeAsync", stream, ctx))
    return r;
  if (CUresult r = release("cuMemFreeAsync", ptr, ctx))
    return r;
  if (ptr)
    logLine("free A%d stream=%s", state().allocations[ptr].id,
            streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src,
                                          size_t bytes, CUstream stream) {
  ENTER("cuMemcpyAsync");
  CONTEXT("cuMemcpyAsync", ctx);
  const char *call = "cuMemcpyAsync";
  if (CUresult r = checkStream(call, stream, ctx))
    return r;
  if (bytes && (!dst || !src))
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "null pointer");
  if (CUresult r = checkRange(call, "destination", dst, bytes))
    return r;
  if (CUresult r = checkRange(call, "source", src, bytes))
    return r;
  if (bytes)
    std::memmove(reinterpret_cast<void *>(dst),
                 reinterpret_cast<const void *>(src), bytes);
  logLine("memcpy %s %zu bytes stream=%s", copyKind(dst, src), bytes,
          streamName(stream).c_str());
  return CUDA_SUCCESS;
}

template <typename T>
CUresult fillMemory(const char *call, CUdeviceptr dst, T value, size_t count,
                    CUstream stream) {
  CONTEXT(call, ctx);
  if (CUresult r = checkStream(call, stream, ctx))
    return r;
  if (dst % sizeof(T) != 0)
    return refuse(call, CUDA_ERROR_INVALID_VALUE, "misaligned destination");
  if (!isDevicePointer(dst))
    return refuse(call, CUDA_ERROR_INVALID_VALUE,
                  "destination " + hex(dst) + " is not device memory");
  if (CUresult r = checkRange(call, "destination", dst, count * sizeof(T)))
    return r;
  T *p = reinterpret_cast<T *>(dst);
  std::fill(p, p + count, value);
  logLine("memset%zu %zu elements stream=%s", sizeof(T) * 8, count,
          streamName(stream).c_str());
  return CUDA_SUCCESS;
}

KVQ_EXPORT CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dst,
                                             unsigned int value, size_t count,
                                             CUstream stream) {
  ENTER("cuMemsetD32Async");
  return fillMemory<uint32_t>("cuMemsetD32Async", dst, value, count, stream);
}

KVQ_EXPORT CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dst,
                                             unsigned short value, size_t count,
                                             CUstream stream) {
  ENTER("cuMemsetD16Async");
  return fillMemory<uint16_t>("cuMemsetD16Async", dst, value, count, stream);
}

//===----------------------------------------------------------------------===//
// Test control (kvq_cuda_double.h)
//===----------------------------------------------------------------------===//

KVQ_EXPORT int kvqCudaDoubleFail(const char *call, int nth, int result) {
  LOCK();
  State &s = state();
  s.faults[call][s.callCounts[call] + nth] = static_cast<CUresult>(result);
  return 0;
}

KVQ_EXPORT int kvqCudaDoubleLive(const char *kind) {
  LOCK();
  return liveCount(kind);
}

KVQ_EXPORT int kvqCudaDoubleContextDepth(void) {
  return static_cast<int>(contextStack.size());
}

KVQ_EXPORT int kvqCudaDoubleLaunches(void) {
  LOCK();
  return state().launches;
}

KVQ_EXPORT void kvqCudaDoubleNote(const char *text) {
  LOCK();
  logLine("note %s", text ? text : "");
}
