//===- GPUEmulatorTest.cpp - Unit tests of the GPU emulator runtime -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Kernels written in C++ against the device functions of
// libkvq_gpu_emulator (what kvq-emulate-gpu-kernels makes kernels call),
// launched with kvqEmuLaunch or through the mgpu* functions: barrier and
// shared-memory semantics, shfl.sync / vote.sync against CUDA's documented
// semantics, mma.sync fragment layouts (spelled out here from the PTX ISA's
// figures, independently of the runtime's tables) against a plain matrix
// product on random data, ldmatrix, cp.async groups, and the errors:
// deadlock, divergence, out-of-range accesses, races.
//
//===----------------------------------------------------------------------===//

#include "kvq/Runtime/kvq_cuda_runtime.h"
#include "kvq/Runtime/kvq_gpu_emulator.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::string lastError() {
  char message[1024];
  int32_t status = kvqCudaGetLastError(message, sizeof(message));
  return status ? std::string(message) : std::string();
}

/// Clears errors and checks before and after each test.
class GPUEmulator : public ::testing::Test {
protected:
  void SetUp() override {
    kvqCudaClearError();
    kvqEmuSetChecks(0);
  }
  void TearDown() override {
    kvqCudaClearError();
    kvqEmuSetChecks(0);
  }
};

template <typename T> T *sharedAt(size_t offset, int32_t kind) {
  char *base = static_cast<char *>(__kvq_emu_shared_base());
  return static_cast<T *>(
      __kvq_emu_shared_access(base + offset, sizeof(T), kind, sizeof(T)));
}
template <typename T> T loadShared(size_t index) {
  return *sharedAt<T>(index * sizeof(T), 0);
}
template <typename T> void storeShared(size_t index, T value) {
  *sharedAt<T>(index * sizeof(T), 1) = value;
}

//===----------------------------------------------------------------------===//
// Barriers and shared memory
//===----------------------------------------------------------------------===//

// Each thread writes its id, waits at the barrier, reads its neighbour's.
void neighbourKernel(void **params) {
  int32_t *out = *static_cast<int32_t **>(params[0]);
  int32_t withBarrier = *static_cast<int32_t *>(params[1]);
  uint32_t tid = __kvq_emu_sreg_tid_x(), n = __kvq_emu_sreg_ntid_x();
  uint32_t block = __kvq_emu_sreg_ctaid_x();
  storeShared<int32_t>(tid, static_cast<int32_t>(tid + 1000 * block));
  if (withBarrier)
    __kvq_emu_barrier(0, -1, -1, 0);
  out[block * n + tid] = loadShared<int32_t>((tid + 1) % n);
}

TEST_F(GPUEmulator, BarrierOrdersSharedMemory) {
  std::vector<int32_t> out(3 * 96, -1);
  int32_t *outPtr = out.data();
  int32_t withBarrier = 1;
  void *params[] = {&outPtr, &withBarrier};
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE | KVQ_EMU_CHECK_INIT);
  kvqEmuLaunch(neighbourKernel, "neighbour", 3, 1, 1, 96, 1, 1, 96 * 4, params);
  ASSERT_EQ(lastError(), "");
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 96; ++t)
      EXPECT_EQ(out[b * 96 + t], (t + 1) % 96 + 1000 * b);
}

TEST_F(GPUEmulator, RacecheckFindsAMissingBarrier) {
  std::vector<int32_t> out(96);
  int32_t *outPtr = out.data();
  int32_t withBarrier = 0;
  void *params[] = {&outPtr, &withBarrier};
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE);
  kvqEmuLaunch(neighbourKernel, "neighbour", 1, 1, 1, 96, 1, 1, 96 * 4, params);
  std::string error = lastError();
  EXPECT_NE(error.find("kernel 'neighbour'"), std::string::npos) << error;
  // Thread 0 runs first: it reads word 1 before thread 1 writes it.
  EXPECT_NE(error.find("write-after-read hazard at byte 4: thread (0, 0, 0) "
                       "read it and thread (1, 0, 0) writes it with no "
                       "barrier between them"),
            std::string::npos)
      << error;
}

TEST_F(GPUEmulator, InitcheckFindsUnwrittenSharedMemory) {
  std::vector<int32_t> out(32);
  int32_t *outPtr = out.data();
  int32_t withBarrier = 1;
  void *params[] = {&outPtr, &withBarrier};
  kvqEmuSetChecks(KVQ_EMU_CHECK_INIT);
  // 33 words of shared memory, 32 threads: thread 31 reads word 0, fine;
  // without the check, word 32 is simply never read. Read past instead:
  kvqEmuLaunch(
      [](void **params) {
        int32_t *out = *static_cast<int32_t **>(params[0]);
        uint32_t tid = __kvq_emu_sreg_tid_x();
        storeShared<int32_t>(tid, 1);
        __kvq_emu_barrier(0, -1, -1, 0);
        out[tid] = loadShared<int32_t>(tid + 1); // word 32: never written
      },
      "unwritten", 1, 1, 1, 32, 1, 1, 33 * 4, params);
  std::string error = lastError();
  EXPECT_NE(error.find("reads byte 128 of shared memory, which no thread of "
                       "the block has written"),
            std::string::npos)
      << error;
}

TEST_F(GPUEmulator, SharedMemoryIsNaNFilled) {
  float out = 0;
  float *outPtr = &out;
  void *params[] = {&outPtr};
  kvqEmuLaunch(
      [](void **params) {
        **static_cast<float **>(params[0]) = loadShared<float>(3);
      },
      "fill", 1, 1, 1, 1, 1, 1, 16, params);
  ASSERT_EQ(lastError(), "");
  EXPECT_TRUE(std::isnan(out));
}

TEST_F(GPUEmulator, OutOfRangeSharedAccessIsAnError) {
  void *params[] = {nullptr};
  kvqEmuLaunch([](void **) { storeShared<int32_t>(__kvq_emu_sreg_tid_x(), 0); },
               "oob", 1, 1, 1, 64, 1, 1, 128, params);
  std::string error = lastError();
  EXPECT_NE(error.find("kernel 'oob'"), std::string::npos) << error;
  EXPECT_NE(error.find("thread (32, 0, 0): store of 4 bytes at shared-memory "
                       "offset 128 is out of range"),
            std::string::npos)
      << error;
}

TEST_F(GPUEmulator, MisalignedSharedAccessIsAnError) {
  void *params[] = {nullptr};
  kvqEmuLaunch(
      [](void **) {
        char *base = static_cast<char *>(__kvq_emu_shared_base());
        __kvq_emu_shared_access(base + 8, 16, 0, 16);
      },
      "misaligned", 1, 1, 1, 1, 1, 1, 64, params);
  EXPECT_NE(lastError().find("misaligned load of 16 bytes at shared-memory "
                             "offset 8 (needs 16-byte alignment)"),
            std::string::npos);
}

// Warp 0 waits at barrier 1, warp 1 at barrier 2: neither completes.
TEST_F(GPUEmulator, DeadlockIsReported) {
  void *params[] = {nullptr};
  kvqEmuLaunch(
      [](void **) {
        __kvq_emu_barrier(__kvq_emu_sreg_tid_x() < 32 ? 1 : 2, -1, -1, 0);
      },
      "deadlock", 1, 1, 1, 64, 1, 1, 0, params);
  std::string error = lastError();
  EXPECT_NE(error.find("kernel 'deadlock' (module (test)), block (0, 0, 0): "
                       "deadlock: 64 of 64 threads are blocked"),
            std::string::npos)
      << error;
}

// Two call sites the compiler cannot merge.
__attribute__((noinline)) void barrierA(int32_t *sink) {
  *sink += __kvq_emu_barrier(0, -1, -1, 0);
  asm volatile("" ::: "memory");
}
__attribute__((noinline)) void barrierB(int32_t *sink) {
  *sink -= __kvq_emu_barrier(0, -1, -1, 0);
  asm volatile("" ::: "memory");
}

TEST_F(GPUEmulator, DivergentBarrierIsReported) {
  void *params[] = {nullptr};
  kvqEmuLaunch(
      [](void **) {
        int32_t sink = 0;
        if (__kvq_emu_sreg_tid_x() < 32)
          barrierA(&sink);
        else
          barrierB(&sink);
      },
      "divergent", 1, 1, 1, 64, 1, 1, 0, params);
  std::string error = lastError();
  EXPECT_NE(error.find("divergent barrier: thread (0, 0, 0) and thread (32, 0, "
                       "0) wait at different bar.sync instructions"),
            std::string::npos)
      << error;
}

// Exited threads do not hold up a barrier; barrier reductions.
TEST_F(GPUEmulator, BarrierCountsLiveThreadsAndReduces) {
  int32_t out[3] = {0, 0, 0};
  int32_t *outPtr = out;
  void *params[] = {&outPtr};
  kvqEmuLaunch(
      [](void **params) {
        int32_t *out = *static_cast<int32_t **>(params[0]);
        uint32_t tid = __kvq_emu_sreg_tid_x();
        if (tid >= 40)
          return;
        int32_t popc = __kvq_emu_barrier(0, -1, 0, tid % 3 == 0);
        int32_t all = __kvq_emu_barrier(0, -1, 1, tid < 40);
        int32_t any = __kvq_emu_barrier(0, -1, 2, tid == 39);
        if (tid == 0) {
          out[0] = popc;
          out[1] = all;
          out[2] = any;
        }
      },
      "reduce", 1, 1, 1, 64, 1, 1, 0, params);
  ASSERT_EQ(lastError(), "");
  EXPECT_EQ(out[0], 14);
  EXPECT_EQ(out[1], 1);
  EXPECT_EQ(out[2], 1);
}

//===----------------------------------------------------------------------===//
// shfl.sync and vote.sync
//===----------------------------------------------------------------------===//

struct ShuffleCase {
  int mode; // 0 up, 1 down, 2 bfly, 3 idx
  uint32_t offset, width;
};

// The `c` operand CUDA's __shfl*_sync(mask, v, offset, width) pass.
uint32_t clampFor(int mode, uint32_t width) {
  uint32_t c = (32 - width) << 8;
  return mode == 0 ? c : c | 0x1f;
}

// CUDA's documented results: lanes see their own segment of `width` lanes;
// a source outside of it yields the caller's own value.
int32_t expectedShuffle(int mode, int lane, uint32_t offset, uint32_t width,
                        bool &valid) {
  int w = static_cast<int>(width), base = lane / w * w, src = lane;
  int off = static_cast<int>(offset);
  switch (mode) {
  case 0:
    src = lane - off;
    valid = src >= base;
    break;
  case 1:
    src = lane + off;
    valid = src < base + w;
    break;
  case 2:
    src = lane ^ off;
    valid = src < base + w;
    break;
  default:
    src = base + off % w;
    valid = true;
    break;
  }
  return valid ? 100 + src : 100 + lane;
}

TEST_F(GPUEmulator, ShuffleMatchesCUDASemantics) {
  std::vector<ShuffleCase> cases;
  for (int mode = 0; mode < 4; ++mode)
    for (uint32_t width : {32u, 16u, 8u, 4u, 2u})
      for (uint32_t offset : {0u, 1u, 2u, 3u, 5u, 8u, 13u, 31u})
        cases.push_back({mode, offset, width});
  for (const ShuffleCase &c : cases) {
    uint64_t out[32];
    uint64_t *outPtr = out;
    ShuffleCase copy = c;
    ShuffleCase *casePtr = &copy;
    void *params[] = {&outPtr, &casePtr};
    kvqEmuLaunch(
        [](void **params) {
          uint64_t *out = *static_cast<uint64_t **>(params[0]);
          const ShuffleCase &c = **static_cast<ShuffleCase **>(params[1]);
          uint32_t lane = __kvq_emu_sreg_laneid();
          out[lane] = __kvq_emu_shfl_sync(c.mode, ~0u, 100 + lane, c.offset,
                                          clampFor(c.mode, c.width));
        },
        "shfl", 1, 1, 1, 32, 1, 1, 0, params);
    ASSERT_EQ(lastError(), "");
    for (int lane = 0; lane < 32; ++lane) {
      bool valid = false;
      int32_t expect = expectedShuffle(c.mode, lane, c.offset, c.width, valid);
      EXPECT_EQ(static_cast<int32_t>(out[lane]), expect)
          << "mode " << c.mode << " offset " << c.offset << " width " << c.width
          << " lane " << lane;
      EXPECT_EQ((out[lane] >> 32) != 0, valid)
          << "mode " << c.mode << " offset " << c.offset << " width " << c.width
          << " lane " << lane;
    }
  }
}

TEST_F(GPUEmulator, ShuffleWithAnExitedLaneIsAnError) {
  void *params[] = {nullptr};
  kvqEmuLaunch(
      [](void **) {
        if (__kvq_emu_sreg_laneid() == 5)
          return;
        __kvq_emu_shfl_sync(2, ~0u, 1, 1, 0x1f);
      },
      "exited", 1, 1, 1, 32, 1, 1, 0, params);
  std::string error = lastError();
  EXPECT_NE(error.find("thread (5, 0, 0) exited while lanes of its warp wait "
                       "for it in shfl.sync"),
            std::string::npos)
      << error;
}

TEST_F(GPUEmulator, DivergentWarpInstructionsAreAnError) {
  void *params[] = {nullptr};
  kvqEmuLaunch(
      [](void **) {
        if (__kvq_emu_sreg_laneid() < 16)
          __kvq_emu_shfl_sync(2, ~0u, 1, 1, 0x1f);
        else
          __kvq_emu_vote_sync(0, ~0u, 1);
      },
      "divergent", 1, 1, 1, 32, 1, 1, 0, params);
  EXPECT_NE(lastError().find("divergent warp: thread (16, 0, 0) executes "
                             "vote.sync"),
            std::string::npos);
}

TEST_F(GPUEmulator, PartialMasksAndVotes) {
  uint32_t out[64];
  uint32_t *outPtr = out;
  void *params[] = {&outPtr};
  // Two half-warps vote with disjoint member masks at the same time.
  kvqEmuLaunch(
      [](void **params) {
        uint32_t *out = *static_cast<uint32_t **>(params[0]);
        uint32_t tid = __kvq_emu_sreg_tid_x(), lane = tid % 32;
        uint32_t mask = lane < 16 ? 0x0000ffffu : 0xffff0000u;
        uint32_t ballot = __kvq_emu_vote_sync(2, mask, lane % 3 == 0);
        uint32_t all = __kvq_emu_vote_sync(1, mask, lane < 16);
        out[tid] = ballot ^ (all << 31);
      },
      "vote", 1, 1, 1, 64, 1, 1, 0, params);
  ASSERT_EQ(lastError(), "");
  uint32_t lo = 0, hi = 0;
  for (int lane = 0; lane < 32; ++lane)
    (lane < 16 ? lo : hi) |= (lane % 3 == 0 ? 1u : 0u) << lane;
  for (int tid = 0; tid < 64; ++tid) {
    int lane = tid % 32;
    uint32_t expect = lane < 16 ? lo ^ (1u << 31) : hi;
    EXPECT_EQ(out[tid], expect) << tid;
  }
}

//===----------------------------------------------------------------------===//
// mma.sync
//===----------------------------------------------------------------------===//

uint16_t toF16(float v) {
  _Float16 h = static_cast<_Float16>(v);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}
float fromF16(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}
uint32_t f32Bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits;
}
float bitsF32(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

struct MmaRun {
  int32_t m, n, k, typeAB, typeC, typeD;
  uint32_t in[32][16];
  uint32_t out[32][8];
};

void mmaKernel(void **params) {
  MmaRun &r = **static_cast<MmaRun **>(params[0]);
  uint32_t lane = __kvq_emu_sreg_laneid();
  __kvq_emu_mma_sync(r.m, r.n, r.k, r.typeAB, r.typeAB, r.typeC, r.typeD, 1,
                     r.in[lane], r.out[lane]);
}

void runMma(MmaRun &r) {
  MmaRun *ptr = &r;
  void *params[] = {&ptr};
  kvqEmuLaunch(mmaKernel, "mma", 1, 1, 1, 32, 1, 1, 0, params);
}

// f16 m16n8k16, the PTX ISA's figures ("mma.m16n8k16 fragment layout for
// matrix A / B / C" with .f16): a0,a1 = row g, columns 2t, 2t+1; a2,a3 = row
// g+8; a4,a5 = row g, columns 2t+8, 2t+9; a6,a7 = row g+8. b0,b1 = rows
// 2t, 2t+1 of column g; b2,b3 = rows 2t+8, 2t+9. c0,c1 = row g, columns 2t,
// 2t+1; c2,c3 = row g+8.
TEST_F(GPUEmulator, MmaF16M16N8K16MatchesMatrixProduct) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  for (int accumulateF16 = 0; accumulateF16 < 2; ++accumulateF16) {
    float a[16][16], b[16][8], c[16][8];
    for (auto &row : a)
      for (float &v : row)
        v = fromF16(toF16(dist(rng)));
    for (auto &row : b)
      for (float &v : row)
        v = fromF16(toF16(dist(rng)));
    for (auto &row : c)
      for (float &v : row)
        v = accumulateF16 ? fromF16(toF16(dist(rng))) : dist(rng);
    MmaRun r{16,
             8,
             16,
             KVQ_EMU_F16,
             accumulateF16 ? KVQ_EMU_F16 : KVQ_EMU_F32,
             accumulateF16 ? KVQ_EMU_F16 : KVQ_EMU_F32,
             {},
             {}};
    auto pack = [](float lo, float hi) {
      return toF16(lo) | static_cast<uint32_t>(toF16(hi)) << 16;
    };
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      uint32_t *in = r.in[lane];
      in[0] = pack(a[g][2 * t], a[g][2 * t + 1]);
      in[1] = pack(a[g + 8][2 * t], a[g + 8][2 * t + 1]);
      in[2] = pack(a[g][2 * t + 8], a[g][2 * t + 9]);
      in[3] = pack(a[g + 8][2 * t + 8], a[g + 8][2 * t + 9]);
      in[4] = pack(b[2 * t][g], b[2 * t + 1][g]);
      in[5] = pack(b[2 * t + 8][g], b[2 * t + 9][g]);
      if (accumulateF16) {
        in[6] = pack(c[g][2 * t], c[g][2 * t + 1]);
        in[7] = pack(c[g + 8][2 * t], c[g + 8][2 * t + 1]);
      } else {
        in[6] = f32Bits(c[g][2 * t]);
        in[7] = f32Bits(c[g][2 * t + 1]);
        in[8] = f32Bits(c[g + 8][2 * t]);
        in[9] = f32Bits(c[g + 8][2 * t + 1]);
      }
    }
    runMma(r);
    ASSERT_EQ(lastError(), "");
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      for (int i = 0; i < 4; ++i) {
        int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        double expect = c[row][col];
        for (int kk = 0; kk < 16; ++kk)
          expect += static_cast<double>(a[row][kk]) * b[kk][col];
        float got = accumulateF16 ? fromF16(static_cast<uint16_t>(
                                        r.out[lane][i / 2] >> (16 * (i % 2))))
                                  : bitsF32(r.out[lane][i]);
        double tol = accumulateF16 ? 2e-3 * (std::fabs(expect) + 1) : 1e-5;
        EXPECT_NEAR(got, expect, tol) << "lane " << lane << " element " << i;
      }
    }
  }
}

// bf16 m16n8k8: a0,a1 = row g, columns 2t, 2t+1; a2,a3 = row g+8. b0,b1 =
// rows 2t, 2t+1 of column g.
TEST_F(GPUEmulator, MmaBF16M16N8K8MatchesMatrixProduct) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  auto bf16 = [](float v) { return static_cast<uint16_t>(f32Bits(v) >> 16); };
  auto value = [](uint16_t bits) {
    return bitsF32(static_cast<uint32_t>(bits) << 16);
  };
  float a[16][8], b[8][8], c[16][8];
  for (auto &row : a)
    for (float &v : row)
      v = value(bf16(dist(rng)));
  for (auto &row : b)
    for (float &v : row)
      v = value(bf16(dist(rng)));
  for (auto &row : c)
    for (float &v : row)
      v = dist(rng);
  MmaRun r{16, 8, 8, KVQ_EMU_BF16, KVQ_EMU_F32, KVQ_EMU_F32, {}, {}};
  auto pack = [&](float lo, float hi) {
    return bf16(lo) | static_cast<uint32_t>(bf16(hi)) << 16;
  };
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    r.in[lane][0] = pack(a[g][2 * t], a[g][2 * t + 1]);
    r.in[lane][1] = pack(a[g + 8][2 * t], a[g + 8][2 * t + 1]);
    r.in[lane][2] = pack(b[2 * t][g], b[2 * t + 1][g]);
    r.in[lane][3] = f32Bits(c[g][2 * t]);
    r.in[lane][4] = f32Bits(c[g][2 * t + 1]);
    r.in[lane][5] = f32Bits(c[g + 8][2 * t]);
    r.in[lane][6] = f32Bits(c[g + 8][2 * t + 1]);
  }
  runMma(r);
  ASSERT_EQ(lastError(), "");
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = g + 8 * (i / 2), col = 2 * t + i % 2;
      double expect = c[row][col];
      for (int kk = 0; kk < 8; ++kk)
        expect += static_cast<double>(a[row][kk]) * b[kk][col];
      EXPECT_NEAR(bitsF32(r.out[lane][i]), expect, 1e-5);
    }
  }
}

// s8 m16n8k32: a0..a3 = row g, columns 4t..4t+3; a4..a7 = row g+8; a8..a11
// = row g, columns 4t+16..4t+19; a12..a15 = row g+8. b0..b3 = rows
// 4t..4t+3 of column g; b4..b7 = rows 4t+16..4t+19. Saturating s32 sums.
TEST_F(GPUEmulator, MmaS8M16N8K32MatchesMatrixProduct) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dist(-128, 127);
  int32_t a[16][32], b[32][8], c[16][8];
  for (auto &row : a)
    for (int32_t &v : row)
      v = dist(rng);
  for (auto &row : b)
    for (int32_t &v : row)
      v = dist(rng);
  for (auto &row : c)
    for (int32_t &v : row)
      v = dist(rng) * 1000;
  c[0][0] = 2147483000; // saturates
  MmaRun r{16, 8, 32, KVQ_EMU_S8, KVQ_EMU_S32, KVQ_EMU_S32, {}, {}};
  auto pack4 = [](int32_t x0, int32_t x1, int32_t x2, int32_t x3) {
    return (x0 & 0xff) | (x1 & 0xff) << 8 | (x2 & 0xff) << 16 |
           static_cast<uint32_t>(x3 & 0xff) << 24;
  };
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    uint32_t *in = r.in[lane];
    int rows[4] = {g, g + 8, g, g + 8}, cols[4] = {0, 0, 16, 16};
    for (int reg = 0; reg < 4; ++reg) {
      const int32_t *p = &a[rows[reg]][4 * t + cols[reg]];
      in[reg] = pack4(p[0], p[1], p[2], p[3]);
    }
    for (int reg = 0; reg < 2; ++reg) {
      int k0 = 4 * t + 16 * reg;
      in[4 + reg] = pack4(b[k0][g], b[k0 + 1][g], b[k0 + 2][g], b[k0 + 3][g]);
    }
    in[6] = c[g][2 * t];
    in[7] = c[g][2 * t + 1];
    in[8] = c[g + 8][2 * t];
    in[9] = c[g + 8][2 * t + 1];
  }
  runMma(r);
  ASSERT_EQ(lastError(), "");
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = g + 8 * (i / 2), col = 2 * t + i % 2;
      int64_t expect = c[row][col];
      for (int kk = 0; kk < 32; ++kk)
        expect += static_cast<int64_t>(a[row][kk]) * b[kk][col];
      expect = std::min<int64_t>(expect, INT32_MAX);
      EXPECT_EQ(static_cast<int32_t>(r.out[lane][i]), expect);
    }
  }
}

// tf32 m16n8k8: a0 = (g, t), a1 = (g+8, t), a2 = (g, t+4), a3 = (g+8, t+4);
// b0 = (t, g), b1 = (t+4, g). Tensor cores ignore the low 13 mantissa bits.
TEST_F(GPUEmulator, MmaTF32M16N8K8MatchesMatrixProduct) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  auto tf32 = [](float v) { return bitsF32(f32Bits(v) & 0xffffe000u); };
  float a[16][8], b[8][8];
  for (auto &row : a)
    for (float &v : row)
      v = dist(rng);
  for (auto &row : b)
    for (float &v : row)
      v = dist(rng);
  MmaRun r{16, 8, 8, KVQ_EMU_TF32, KVQ_EMU_F32, KVQ_EMU_F32, {}, {}};
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    uint32_t *in = r.in[lane];
    in[0] = f32Bits(a[g][t]);
    in[1] = f32Bits(a[g + 8][t]);
    in[2] = f32Bits(a[g][t + 4]);
    in[3] = f32Bits(a[g + 8][t + 4]);
    in[4] = f32Bits(b[t][g]);
    in[5] = f32Bits(b[t + 4][g]);
    for (int i = 0; i < 4; ++i)
      in[6 + i] = 0;
  }
  runMma(r);
  ASSERT_EQ(lastError(), "");
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = g + 8 * (i / 2), col = 2 * t + i % 2;
      double expect = 0;
      for (int kk = 0; kk < 8; ++kk)
        expect += static_cast<double>(tf32(a[row][kk])) * tf32(b[kk][col]);
      EXPECT_NEAR(bitsF32(r.out[lane][i]), expect, 1e-5);
    }
  }
}

TEST_F(GPUEmulator, MmaRegisterCounts) {
  kvq_emu_mma_regs f16 =
      kvqEmuMmaRegisters(16, 8, 16, KVQ_EMU_F16, KVQ_EMU_F32, KVQ_EMU_F32);
  EXPECT_EQ(f16.a, 4);
  EXPECT_EQ(f16.b, 2);
  EXPECT_EQ(f16.c, 4);
  EXPECT_EQ(f16.d, 4);
  kvq_emu_mma_regs s8 =
      kvqEmuMmaRegisters(16, 8, 16, KVQ_EMU_S8, KVQ_EMU_S32, KVQ_EMU_S32);
  EXPECT_EQ(s8.a, 2);
  EXPECT_EQ(s8.b, 1);
  EXPECT_EQ(
      kvqEmuMmaRegisters(16, 16, 16, KVQ_EMU_F16, KVQ_EMU_F32, KVQ_EMU_F32).a,
      0);
}

TEST_F(GPUEmulator, MmaNeedsTheWholeWarp) {
  MmaRun r{16, 8, 16, KVQ_EMU_F16, KVQ_EMU_F32, KVQ_EMU_F32, {}, {}};
  MmaRun *ptr = &r;
  void *params[] = {&ptr};
  kvqEmuLaunch(mmaKernel, "partial", 1, 1, 1, 16, 1, 1, 0, params);
  EXPECT_NE(lastError().find("executes mma.sync with member mask 0xffffffff, "
                             "which names lanes that do not exist"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// ldmatrix and cp.async
//===----------------------------------------------------------------------===//

TEST_F(GPUEmulator, LdMatrixFragments) {
  for (int transpose = 0; transpose < 2; ++transpose) {
    uint32_t out[32][4];
    uint32_t(*outPtr)[4] = out;
    int32_t trans = transpose;
    void *params[] = {&outPtr, &trans};
    // Four 8x8 matrices of b16 in shared memory; element (m, r, c) holds
    // m * 64 + r * 8 + c. Rows are 32 bytes apart (padded).
    kvqEmuLaunch(
        [](void **params) {
          auto *out = *static_cast<uint32_t(**)[4]>(params[0]);
          int32_t trans = *static_cast<int32_t *>(params[1]);
          uint32_t lane = __kvq_emu_sreg_laneid();
          for (int i = 0; i < 8; ++i) {
            uint32_t e = lane * 8 + i; // m * 64 + r * 8 + c
            uint32_t m = e / 64, r = e / 8 % 8, c = e % 8;
            storeShared<uint16_t>((m * 8 + r) * 16 + c,
                                  static_cast<uint16_t>(e));
          }
          __kvq_emu_barrier(0, -1, -1, 0);
          char *base = static_cast<char *>(__kvq_emu_shared_base());
          __kvq_emu_ldmatrix(4, trans, base + lane * 32, out[lane]);
        },
        "ldmatrix", 1, 1, 1, 32, 1, 1, 32 * 32, params);
    ASSERT_EQ(lastError(), "");
    for (int lane = 0; lane < 32; ++lane)
      for (int m = 0; m < 4; ++m) {
        int g = lane / 4, t2 = 2 * (lane % 4);
        uint32_t lo = transpose ? m * 64 + t2 * 8 + g : m * 64 + g * 8 + t2;
        uint32_t hi =
            transpose ? m * 64 + (t2 + 1) * 8 + g : m * 64 + g * 8 + t2 + 1;
        EXPECT_EQ(out[lane][m], lo | hi << 16)
            << "lane " << lane << " matrix " << m << " trans " << transpose;
      }
  }
}

// Two groups in flight: wait_group 1 completes only the first; reads before
// the wait see the old contents.
TEST_F(GPUEmulator, AsyncCopyGroupsLandWhenWaitedFor) {
  alignas(16) static int32_t source[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t out[4];
  int32_t *outPtr = out;
  void *params[] = {&outPtr};
  kvqEmuLaunch(
      [](void **params) {
        int32_t *out = *static_cast<int32_t **>(params[0]);
        char *base = static_cast<char *>(__kvq_emu_shared_base());
        __kvq_emu_cp_async(base, source, 16, 16);
        __kvq_emu_cp_async_commit_group();
        __kvq_emu_cp_async(base + 16, source + 4, 16, 8); // zero-filled half
        __kvq_emu_cp_async_commit_group();
        out[0] = loadShared<int32_t>(0);
        __kvq_emu_cp_async_wait_group(1);
        out[1] = loadShared<int32_t>(3);
        out[2] = loadShared<int32_t>(4);
        __kvq_emu_cp_async_wait_group(0);
        out[3] = loadShared<int32_t>(5) * 100 + loadShared<int32_t>(6);
      },
      "async", 1, 1, 1, 1, 1, 1, 32, params);
  ASSERT_EQ(lastError(), "");
  EXPECT_EQ(out[0], -1); // the 0xff fill
  EXPECT_EQ(out[1], 4);
  EXPECT_EQ(out[2], -1);
  EXPECT_EQ(out[3], 600);
}

TEST_F(GPUEmulator, RacecheckFindsReadsBeforeTheWait) {
  alignas(16) static int32_t source[4] = {1, 2, 3, 4};
  void *params[] = {nullptr};
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE);
  kvqEmuLaunch(
      [](void **) {
        char *base = static_cast<char *>(__kvq_emu_shared_base());
        __kvq_emu_cp_async(base, source, 16, 16);
        __kvq_emu_cp_async_commit_group();
        (void)loadShared<int32_t>(1);
      },
      "early", 1, 1, 1, 1, 1, 1, 16, params);
  EXPECT_NE(lastError().find("thread (0, 0, 0) reads byte 4 of shared memory, "
                             "which a cp.async of its own has not written yet"),
            std::string::npos);
}

// Two threads copying the same chunk in one phase: the duplicated copies
// that compute-sanitizer reports as write-write hazards.
TEST_F(GPUEmulator, RacecheckFindsDuplicatedAsyncCopies) {
  alignas(16) static int32_t source[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  void *params[] = {nullptr};
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE);
  kvqEmuLaunch(
      [](void **) {
        uint32_t tid = __kvq_emu_sreg_tid_x();
        uint32_t chunk = tid < 1 ? tid : 1; // threads 1 and 2 copy chunk 1
        char *base = static_cast<char *>(__kvq_emu_shared_base());
        __kvq_emu_cp_async(base + 16 * chunk, source + 4 * chunk, 16, 16);
        __kvq_emu_cp_async_commit_group();
        __kvq_emu_cp_async_wait_group(0);
        __kvq_emu_barrier(0, -1, -1, 0);
      },
      "duplicates", 1, 1, 1, 3, 1, 1, 32, params);
  std::string error = lastError();
  // Thread 1 ran to the barrier (its copy landed) before thread 2 started.
  EXPECT_NE(error.find("shared-memory write-after-write hazard at byte 16: "
                       "thread (1, 0, 0) copies to it with cp.async and "
                       "thread (2, 0, 0) copies to it with cp.async"),
            std::string::npos)
      << error;
  // The same copies, waited for and separated by a barrier: no hazard.
  kvqCudaClearError();
  kvqEmuLaunch(
      [](void **) {
        uint32_t tid = __kvq_emu_sreg_tid_x();
        char *base = static_cast<char *>(__kvq_emu_shared_base());
        for (uint32_t turn = 1; turn < 3; ++turn) {
          if (tid == turn) {
            __kvq_emu_cp_async(base + 16, source + 4, 16, 16);
            __kvq_emu_cp_async_commit_group();
            __kvq_emu_cp_async_wait_group(0);
          }
          __kvq_emu_barrier(0, -1, -1, 0);
        }
      },
      "ordered", 1, 1, 1, 3, 1, 1, 32, params);
  EXPECT_EQ(lastError(), "");
}

// One thread's cp.async copies are unordered until a wait_group separates
// them: a second copy (or a store) to bytes a copy of its own still has in
// flight lands before or after it.
TEST_F(GPUEmulator, RacecheckFindsOverlappingAsyncCopiesOfOneThread) {
  alignas(16) static int32_t source[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t mode = 0;
  void *params[] = {&mode};
  auto kernel = [](void **params) {
    int32_t mode = *static_cast<int32_t *>(params[0]);
    char *base = static_cast<char *>(__kvq_emu_shared_base());
    __kvq_emu_cp_async(base, source, 16, 16);
    __kvq_emu_cp_async_commit_group();
    if (mode == 2)
      __kvq_emu_cp_async_wait_group(0);
    if (mode == 1)
      storeShared<int32_t>(2, 0);
    else
      __kvq_emu_cp_async(base, source + 4, 16, 16);
    __kvq_emu_cp_async_commit_group();
    __kvq_emu_cp_async_wait_group(0);
  };
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE);
  kvqEmuLaunch(kernel, "twice", 1, 1, 1, 1, 1, 1, 16, params);
  std::string error = lastError();
  EXPECT_NE(error.find("thread (0, 0, 0) copies to byte 0 of shared memory "
                       "with cp.async while a cp.async of its own to it is "
                       "in flight"),
            std::string::npos)
      << error;
  kvqCudaClearError();
  mode = 1;
  kvqEmuLaunch(kernel, "store", 1, 1, 1, 1, 1, 1, 16, params);
  error = lastError();
  EXPECT_NE(error.find("thread (0, 0, 0) writes byte 8 of shared memory, "
                       "which a cp.async of its own has not written yet"),
            std::string::npos)
      << error;
  // With the first copy waited for: ordered.
  kvqCudaClearError();
  mode = 2;
  kvqEmuLaunch(kernel, "waited", 1, 1, 1, 1, 1, 1, 16, params);
  EXPECT_EQ(lastError(), "");
}

// bar.warp.sync orders the shared-memory accesses of its member lanes
// (CUDA: __syncwarp is a memory fence among them), not those of other warps
// or of lanes outside its mask.
TEST_F(GPUEmulator, SyncWarpOrdersSharedMemoryWithinTheWarp) {
  alignas(16) static int32_t source[64 * 4];
  int32_t mode = 0;
  void *params[] = {&mode};
  auto kernel = [](void **params) {
    int32_t mode = *static_cast<int32_t *>(params[0]);
    uint32_t tid = __kvq_emu_sreg_tid_x();
    uint32_t n = __kvq_emu_sreg_ntid_x();
    char *base = static_cast<char *>(__kvq_emu_shared_base());
    if (mode == 3) {
      // Each lane copies its 16 bytes with cp.async; the warp reads them
      // after its wait and a bar.warp.sync.
      __kvq_emu_cp_async(base + 16 * tid, source + 4 * tid, 16, 16);
      __kvq_emu_cp_async_commit_group();
      __kvq_emu_cp_async_wait_group(0);
      __kvq_emu_syncwarp(~0u);
      (void)loadShared<int32_t>(4 * ((tid + 1) % 32 + 32 * (tid / 32)));
      __kvq_emu_syncwarp(~0u);
      // ... and copies again over what its neighbours read.
      __kvq_emu_cp_async(base + 16 * tid, source + 4 * tid, 16, 16);
      __kvq_emu_cp_async_commit_group();
      __kvq_emu_cp_async_wait_group(0);
      return;
    }
    storeShared<int32_t>(tid, static_cast<int32_t>(tid));
    if (mode == 0)
      __kvq_emu_syncwarp(~0u);
    if (mode == 2)
      __kvq_emu_syncwarp(tid % 2 ? 0xaaaaaaaau : 0x55555555u);
    // Mode 1: the neighbour in the next warp (no barrier between warps);
    // modes 0 and 2: the neighbour in the warp.
    uint32_t other =
        mode == 1 ? (tid + 32) % n : (tid / 32) * 32 + (tid + 1) % 32;
    (void)loadShared<int32_t>(other);
    if (mode == 2)
      return;
    __kvq_emu_syncwarp(~0u);
    storeShared<int32_t>(other, 0); // after the neighbour's read
  };
  kvqEmuSetChecks(KVQ_EMU_CHECK_RACE);
  kvqEmuLaunch(kernel, "syncwarp", 1, 1, 1, 64, 1, 1, 256, params);
  EXPECT_EQ(lastError(), "");
  mode = 3;
  kvqCudaClearError();
  kvqEmuLaunch(kernel, "syncwarp-async", 1, 1, 1, 64, 1, 1, 1024, params);
  EXPECT_EQ(lastError(), "");
  mode = 1;
  kvqCudaClearError();
  kvqEmuLaunch(kernel, "other-warp", 1, 1, 1, 64, 1, 1, 256, params);
  // Warp 0 runs first: its reads come before warp 1's writes.
  EXPECT_NE(lastError().find("write-after-read hazard"), std::string::npos)
      << lastError();
  mode = 2; // lane and neighbour in different halves of the mask
  kvqCudaClearError();
  kvqEmuLaunch(kernel, "partial-mask", 1, 1, 1, 64, 1, 1, 256, params);
  // Lane 30 passes the even lanes' bar.warp.sync and reads before lane 31
  // writes.
  EXPECT_NE(lastError().find("write-after-read hazard at byte 124: thread "
                             "(30, 0, 0) read it and thread (31, 0, 0)"),
            std::string::npos)
      << lastError();
}

//===----------------------------------------------------------------------===//
// Bit manipulation and conversions (lop3, prmt, cvt from FP8, movmatrix)
//===----------------------------------------------------------------------===//

TEST_F(GPUEmulator, Lop3EvaluatesItsTable) {
  uint32_t a = 0x12345678, b = 0xf0f0ff00, c = 0x0ff00ff0;
  // Tables built from a = 0xF0, b = 0xCC, c = 0xAA (PTX ISA, lop3).
  EXPECT_EQ(__kvq_emu_lop3(a, b, c, (0xF0 & 0xCC) ^ 0xAA), (a & b) ^ c);
  EXPECT_EQ(__kvq_emu_lop3(a, b, c, 0xF0 | 0xCC | 0xAA), a | b | c);
  EXPECT_EQ(__kvq_emu_lop3(a, b, c, 0xAA), c);
  EXPECT_EQ(__kvq_emu_lop3(a, b, c, 0x00), 0u);
  EXPECT_EQ(__kvq_emu_lop3(a, b, c, (0xF0 & ~0xCC) | (0xCC & 0xAA)),
            (a & ~b) | (b & c));
}

TEST_F(GPUEmulator, PrmtSelectsBytes) {
  uint32_t a = 0x44332211, b = 0x88776655;
  EXPECT_EQ(__kvq_emu_prmt(a, b, 0x3210), a);
  EXPECT_EQ(__kvq_emu_prmt(a, b, 0x7654), b);
  EXPECT_EQ(__kvq_emu_prmt(a, b, 0x5410), 0x66552211u); // low halves
  EXPECT_EQ(__kvq_emu_prmt(a, b, 0x7632), 0x88774433u); // high halves
  // Bytes 0 and 1 of a as the high bytes of two halves (e5m2 -> f16).
  EXPECT_EQ(__kvq_emu_prmt(a, 0, 0x1404), 0x22001100u);
  // Bit 3 of a selector nibble replicates the byte's sign bit.
  EXPECT_EQ(__kvq_emu_prmt(0x0000807f, 0, 0x4498), 0x0000ff00u);
  EXPECT_EQ(__kvq_emu_prmt(0x0000807f, 0, 0x4489), 0x000000ffu);
}

TEST_F(GPUEmulator, CvtFromFP8IsExact) {
  auto cvt = [](uint32_t lo, uint32_t hi, bool e5m2, bool relu = false) {
    return __kvq_emu_cvt_f16x2_f8x2(lo | (hi << 8), e5m2, relu);
  };
  // e4m3: 1.0, 448 (the largest), 2^-9 (the smallest subnormal), -1.5.
  EXPECT_EQ(cvt(0x38, 0x7e, false), 0x3c00u | (0x5f00u << 16));
  EXPECT_EQ(cvt(0x01, 0xbc, false), 0x1800u | (0xbe00u << 16));
  // 2^-6 * 7/8 (the largest subnormal), -0; NaN is the canonical NaN.
  EXPECT_EQ(cvt(0x07, 0x80, false), 0x2300u | (0x8000u << 16));
  EXPECT_EQ(cvt(0x7f, 0xff, false), 0x7fffu | (0x7fffu << 16));
  // e5m2 is the high byte of an f16.
  EXPECT_EQ(cvt(0x3c, 0xc1, true), 0x3c00u | (0xc100u << 16));
  EXPECT_EQ(cvt(0x7c, 0x7e, true), 0x7c00u | (0x7fffu << 16));
  // .relu: negative values become +0.
  EXPECT_EQ(cvt(0xbc, 0x38, false, true), 0x0000u | (0x3c00u << 16));
  // Every e4m3 code: its f16 is the code's value.
  for (uint32_t code = 0; code < 256; ++code) {
    if ((code & 0x7f) == 0x7f)
      continue;
    uint16_t bits = static_cast<uint16_t>(cvt(code, 0, false) & 0xffff);
    _Float16 half;
    std::memcpy(&half, &bits, 2);
    int exponent = (code >> 3) & 0xf, mantissa = code & 7;
    double want = exponent ? std::ldexp(1.0 + mantissa / 8.0, exponent - 7)
                           : std::ldexp(mantissa, -9);
    EXPECT_EQ(static_cast<double>(half), (code & 0x80) ? -want : want)
        << "code " << code;
  }
}

TEST_F(GPUEmulator, MovMatrixTransposes) {
  uint32_t out[32];
  uint32_t *outPtr = out;
  void *params[] = {&outPtr};
  kvqEmuLaunch(
      [](void **params) {
        uint32_t *out = *static_cast<uint32_t **>(params[0]);
        uint32_t lane = __kvq_emu_sreg_laneid();
        // Element (r, c) of M holds 8r + c; lane l has row l/4, columns
        // 2(l%4) and 2(l%4)+1.
        uint32_t r = lane / 4, c = 2 * (lane % 4);
        out[lane] = __kvq_emu_movmatrix((8 * r + c) | ((8 * r + c + 1) << 16));
      },
      "movmatrix", 1, 1, 1, 32, 1, 1, 0, params);
  ASSERT_EQ(lastError(), "");
  for (uint32_t lane = 0; lane < 32; ++lane) {
    uint32_t r = lane / 4, c = 2 * (lane % 4);
    EXPECT_EQ(out[lane], (8 * c + r) | ((8 * (c + 1) + r) << 16))
        << "lane " << lane;
  }
}

//===----------------------------------------------------------------------===//
// The mgpu* path
//===----------------------------------------------------------------------===//

void scaleKernel(void **params) {
  float *data = *static_cast<float **>(params[0]);
  int64_t n = *static_cast<int64_t *>(params[1]);
  int64_t i =
      static_cast<int64_t>(__kvq_emu_sreg_ctaid_x()) * __kvq_emu_sreg_ntid_x() +
      __kvq_emu_sreg_tid_x();
  if (i < n)
    data[i] *= 2;
}

TEST_F(GPUEmulator, ModulesKernelsAndMemory) {
  const char text[] = "kvq-gpu-emulator-module:test_module:1234";
  __kvq_emu_register_kernel(text, "scale", scaleKernel, 0, 2, 128);
  void *module = mgpuModuleLoad(const_cast<char *>(text), sizeof(text));
  ASSERT_NE(module, nullptr);
  void *function = mgpuModuleGetFunction(module, "scale");
  ASSERT_NE(function, nullptr);
  void *stream = mgpuStreamCreate();
  int64_t n = 1000;
  auto *device = static_cast<float *>(mgpuMemAlloc(n * 4, stream, false));
  std::vector<float> host(n);
  for (int64_t i = 0; i < n; ++i)
    host[i] = static_cast<float>(i);
  mgpuMemcpy(device, host.data(), n * 4, stream);
  void *params[] = {&device, &n};
  mgpuLaunchKernel(function, 8, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 2);
  mgpuMemcpy(host.data(), device, n * 4, stream);
  mgpuStreamSynchronize(stream);
  ASSERT_EQ(lastError(), "");
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(host[i], 2.0f * i);

  // More threads than the kernel's maximum; a wrong parameter count.
  mgpuLaunchKernel(function, 4, 1, 1, 256, 1, 1, 0, stream, params, nullptr, 2);
  EXPECT_NE(lastError().find("256 threads per block, more than the kernel's "
                             "maximum of 128"),
            std::string::npos);
  kvqCudaClearError();
  mgpuLaunchKernel(function, 8, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 3);
  EXPECT_NE(lastError().find("launched with 3 parameters, the kernel takes 2"),
            std::string::npos);
  kvqCudaClearError();
  mgpuLaunchKernel(function, 0, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 2);
  EXPECT_NE(lastError().find("invalid configuration"), std::string::npos);
  kvqCudaClearError();
  EXPECT_EQ(mgpuModuleGetFunction(module, "missing"), nullptr);
  EXPECT_NE(lastError().find("module 'test_module:1234' has no kernel "
                             "'missing'"),
            std::string::npos);
  kvqCudaClearError();
  char ptx[] = "//\n// Generated by LLVM NVPTX Back-End\n";
  EXPECT_EQ(mgpuModuleLoad(ptx, sizeof(ptx)), nullptr);
  EXPECT_NE(lastError().find("not a module of kvq's GPU emulator"),
            std::string::npos);
  kvqCudaClearError();

  mgpuMemFree(device, stream);
  mgpuStreamDestroy(stream);
  mgpuModuleUnload(module);
  __kvq_emu_unregister_kernel(text, "scale", scaleKernel);
  EXPECT_EQ(lastError(), "");
}

TEST_F(GPUEmulator, LaterLaunchesAreSkippedAfterAnError) {
  int32_t ran = 0;
  int32_t *ranPtr = &ran;
  void *params[] = {&ranPtr};
  kvqEmuLaunch([](void **) { __kvq_emu_barrier(20, -1, -1, 0); }, "bad", 1, 1,
               1, 32, 1, 1, 0, params);
  EXPECT_NE(lastError().find("barrier id 20 out of range"), std::string::npos);
  kvqEmuLaunch([](void **params) { **static_cast<int32_t **>(params[0]) = 1; },
               "skipped", 1, 1, 1, 1, 1, 1, 0, params);
  EXPECT_EQ(ran, 0);
  kvqCudaClearError();
  kvqEmuLaunch([](void **params) { **static_cast<int32_t **>(params[0]) = 1; },
               "runs", 1, 1, 1, 1, 1, 1, 0, params);
  EXPECT_EQ(ran, 1);
}

} // namespace
