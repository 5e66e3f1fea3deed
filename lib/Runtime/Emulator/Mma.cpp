//===- Mma.cpp - Warp-level matrix instructions of the GPU emulator -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Fragment layouts for mma.sync.aligned.row.col (PTX ISA, "Matrix Fragments
// for mma.m16n8k*"), lane `l`, g = l / 4, t = l % 4, element i of the
// lane's fragment (elements packed into 32-bit registers lowest first):
//
//   f16 / bf16 m16n8k16  A: (g + 8 (i/2 % 2), 2t + i%2 + 8 (i/4))
//                        B: (2t + i%2 + 8 (i/2), g)
//   f16 / bf16 m16n8k8   A: (g + 8 (i/2), 2t + i%2)   B: (2t + i, g)
//   tf32 m16n8k8         A: (g + 8 (i%2), t + 4 (i/2)) B: (t + 4i, g)
//   tf32 m16n8k4         A: (g + 8i, t)               B: (t, g)
//   s8 / u8 m16n8k32     A: (g + 8 (i/4 % 2), 4t + i%4 + 16 (i/8))
//                        B: (4t + i%4 + 16 (i/4), g)
//   s8 / u8 m16n8k16     A: (g + 8 (i/4), 4t + i%4)   B: (4t + i, g)
//   f64 m8n8k4           A: (g, t)  B: (t, g)  C / D: (g, 2t + i)
//   C / D of m16n8       (g + 8 (i/2), 2t + i%2)
//
// The product is accumulated in double precision and rounded once to D's
// type (tensor cores add in an unspecified order and precision; integer
// accumulation saturates with .satfinite, the default, and wraps without).
//
//===----------------------------------------------------------------------===//

#include "Mma.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace kvq::emu;

static int typeBits(int32_t type) {
  switch (type) {
  case KVQ_EMU_F16:
  case KVQ_EMU_BF16:
    return 16;
  case KVQ_EMU_S8:
  case KVQ_EMU_U8:
    return 8;
  case KVQ_EMU_F64:
    return 64;
  default:
    return 32;
  }
}

static bool isSupported(const MmaShape &s) {
  int32_t a = s.typeA, b = s.typeB, c = s.typeC, d = s.typeD;
  bool mn16x8 = s.m == 16 && s.n == 8;
  switch (a) {
  case KVQ_EMU_F16:
    return b == a && mn16x8 && (s.k == 16 || s.k == 8) &&
           (c == KVQ_EMU_F32 || c == KVQ_EMU_F16) &&
           (d == KVQ_EMU_F32 || d == KVQ_EMU_F16);
  case KVQ_EMU_BF16:
    return b == a && mn16x8 && (s.k == 16 || s.k == 8) && c == KVQ_EMU_F32 &&
           d == KVQ_EMU_F32;
  case KVQ_EMU_TF32:
    return b == a && mn16x8 && (s.k == 8 || s.k == 4) && c == KVQ_EMU_F32 &&
           d == KVQ_EMU_F32;
  case KVQ_EMU_S8:
  case KVQ_EMU_U8:
    return (b == KVQ_EMU_S8 || b == KVQ_EMU_U8) && mn16x8 &&
           (s.k == 32 || s.k == 16) && c == KVQ_EMU_S32 && d == KVQ_EMU_S32;
  case KVQ_EMU_F64:
    return b == a && s.m == 8 && s.n == 8 && s.k == 4 && c == KVQ_EMU_F64 &&
           d == KVQ_EMU_F64;
  default:
    return false;
  }
}

int kvq::emu::mmaElements(const MmaShape &s, int which) {
  int64_t elements = which == 0   ? s.m * s.k
                     : which == 1 ? s.k * s.n
                                  : s.m * s.n;
  return static_cast<int>(elements / 32);
}

kvq_emu_mma_regs kvq::emu::mmaRegisters(const MmaShape &s) {
  if (!isSupported(s))
    return {0, 0, 0, 0};
  auto regs = [&](int which, int32_t type) {
    return mmaElements(s, which) * typeBits(type) / 32;
  };
  return {regs(0, s.typeA), regs(1, s.typeB), regs(2, s.typeC),
          regs(2, s.typeD)};
}

void kvq::emu::mmaPosition(const MmaShape &s, int which, int lane, int i,
                           int &row, int &col) {
  int g = lane / 4, t = lane % 4;
  if (which == 2) {
    if (s.m == 8) {
      row = g;
      col = 2 * t + i;
    } else {
      row = g + 8 * (i / 2);
      col = 2 * t + i % 2;
    }
    return;
  }
  bool isA = which == 0;
  switch (s.typeA) {
  case KVQ_EMU_F16:
  case KVQ_EMU_BF16:
    if (s.k == 16) {
      if (isA) {
        row = g + 8 * (i / 2 % 2);
        col = 2 * t + i % 2 + 8 * (i / 4);
      } else {
        row = 2 * t + i % 2 + 8 * (i / 2);
        col = g;
      }
    } else if (isA) {
      row = g + 8 * (i / 2);
      col = 2 * t + i % 2;
    } else {
      row = 2 * t + i;
      col = g;
    }
    return;
  case KVQ_EMU_TF32:
    if (s.k == 8) {
      if (isA) {
        row = g + 8 * (i % 2);
        col = t + 4 * (i / 2);
      } else {
        row = t + 4 * i;
        col = g;
      }
    } else if (isA) {
      row = g + 8 * i;
      col = t;
    } else {
      row = t;
      col = g;
    }
    return;
  case KVQ_EMU_S8:
  case KVQ_EMU_U8:
    if (s.k == 32) {
      if (isA) {
        row = g + 8 * (i / 4 % 2);
        col = 4 * t + i % 4 + 16 * (i / 8);
      } else {
        row = 4 * t + i % 4 + 16 * (i / 4);
        col = g;
      }
    } else if (isA) {
      row = g + 8 * (i / 4);
      col = 4 * t + i % 4;
    } else {
      row = 4 * t + i;
      col = g;
    }
    return;
  default: // f64 m8n8k4
    row = isA ? g : t;
    col = isA ? t : g;
    return;
  }
}

/// Element `i` (of `bits` bits) of the registers at `regs`, as raw bits.
static uint64_t element(const uint32_t *regs, int i, int bits) {
  if (bits == 64)
    return regs[2 * i] | static_cast<uint64_t>(regs[2 * i + 1]) << 32;
  int bit = i * bits;
  uint32_t word = regs[bit / 32] >> (bit % 32);
  return bits == 32 ? word : word & ((1u << bits) - 1);
}

static double decode(uint64_t bits, int32_t type) {
  switch (type) {
  case KVQ_EMU_F16: {
    uint16_t h = static_cast<uint16_t>(bits);
    _Float16 v;
    std::memcpy(&v, &h, 2);
    return static_cast<double>(v);
  }
  case KVQ_EMU_BF16:
  case KVQ_EMU_TF32:
  case KVQ_EMU_F32: {
    uint32_t w = static_cast<uint32_t>(bits);
    if (type == KVQ_EMU_BF16)
      w <<= 16;
    else if (type == KVQ_EMU_TF32)
      w &= 0xffffe000u; // tensor cores read 19 of the 32 bits
    float v;
    std::memcpy(&v, &w, 4);
    return v;
  }
  case KVQ_EMU_S8:
    return static_cast<int8_t>(bits);
  case KVQ_EMU_U8:
    return static_cast<uint8_t>(bits);
  case KVQ_EMU_S32:
    return static_cast<int32_t>(bits);
  default: {
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  }
}

static uint64_t encode(double v, int32_t type, bool satfinite) {
  switch (type) {
  case KVQ_EMU_F16: {
    _Float16 h = static_cast<_Float16>(v);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    return bits;
  }
  case KVQ_EMU_F32: {
    float f = static_cast<float>(v);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return bits;
  }
  case KVQ_EMU_S32: {
    // Integer products and sums are exact in double here (|sum| < 2^53).
    if (satfinite) {
      double lo = std::numeric_limits<int32_t>::min();
      double hi = std::numeric_limits<int32_t>::max();
      v = v < lo ? lo : v > hi ? hi : v;
    }
    return static_cast<uint32_t>(static_cast<int64_t>(v));
  }
  default: {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return bits;
  }
  }
}

void kvq::emu::mmaCompute(const MmaShape &s, const uint32_t (*in)[16],
                          uint32_t (*out)[8]) {
  kvq_emu_mma_regs regs = mmaRegisters(s);
  double a[16][32] = {}, b[32][8] = {}, c[16][8] = {};
  int na = mmaElements(s, 0), nb = mmaElements(s, 1), nc = mmaElements(s, 2);
  int bitsA = typeBits(s.typeA), bitsB = typeBits(s.typeB),
      bitsC = typeBits(s.typeC), bitsD = typeBits(s.typeD);
  for (int lane = 0; lane < 32; ++lane) {
    const uint32_t *regsA = in[lane], *regsB = regsA + regs.a,
                   *regsC = regsB + regs.b;
    int row, col;
    for (int i = 0; i < na; ++i) {
      mmaPosition(s, 0, lane, i, row, col);
      a[row][col] = decode(element(regsA, i, bitsA), s.typeA);
    }
    for (int i = 0; i < nb; ++i) {
      mmaPosition(s, 1, lane, i, row, col);
      b[row][col] = decode(element(regsB, i, bitsB), s.typeB);
    }
    for (int i = 0; i < nc; ++i) {
      mmaPosition(s, 2, lane, i, row, col);
      c[row][col] = decode(element(regsC, i, bitsC), s.typeC);
    }
  }
  for (int lane = 0; lane < 32; ++lane) {
    std::memset(out[lane], 0, sizeof(out[lane]));
    for (int i = 0; i < nc; ++i) {
      int row, col;
      mmaPosition(s, 2, lane, i, row, col);
      double sum = c[row][col];
      for (int kk = 0; kk < s.k; ++kk)
        sum += a[row][kk] * b[kk][col];
      uint64_t bits = encode(sum, s.typeD, s.satfinite);
      if (bitsD == 64) {
        out[lane][2 * i] = static_cast<uint32_t>(bits);
        out[lane][2 * i + 1] = static_cast<uint32_t>(bits >> 32);
      } else {
        int bit = i * bitsD;
        out[lane][bit / 32] |= static_cast<uint32_t>(bits) << (bit % 32);
      }
    }
  }
}
