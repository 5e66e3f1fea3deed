//===- Libdevice.cpp - libdevice math for emulated kernels ----------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// convert-gpu-to-nvvm lowers math ops to libdevice calls (__nv_expf, ...);
// emulated kernels call these host versions (libm: results may differ from
// libdevice's in the last bits) and the approximate NVVM intrinsics below.
//
//===----------------------------------------------------------------------===//

#include "kvq/Runtime/kvq_gpu_emulator.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#define KVQ_EXPORT extern "C" __attribute__((visibility("default")))

#define KVQ_LIBDEVICE_UNARY(name)                                              \
  KVQ_EXPORT float __nv_##name##f(float x) { return ::name##f(x); }            \
  KVQ_EXPORT double __nv_##name(double x) { return ::name(x); }
#define KVQ_LIBDEVICE_BINARY(name)                                             \
  KVQ_EXPORT float __nv_##name##f(float x, float y) {                          \
    return ::name##f(x, y);                                                    \
  }                                                                            \
  KVQ_EXPORT double __nv_##name(double x, double y) { return ::name(x, y); }
#include "kvq/Runtime/GPUEmulatorLibdevice.def"

/// Flushes a subnormal to a zero of the same sign (PTX .ftz).
static float ftz(float x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x;
}

KVQ_EXPORT float __nv_fmaf(float x, float y, float z) {
  return std::fmaf(x, y, z);
}
KVQ_EXPORT double __nv_fma(double x, double y, double z) {
  return std::fma(x, y, z);
}
KVQ_EXPORT float __nv_rsqrtf(float x) { return 1.0f / std::sqrt(x); }
KVQ_EXPORT double __nv_rsqrt(double x) { return 1.0 / std::sqrt(x); }
KVQ_EXPORT float __nv_powif(float x, int32_t n) {
  return std::pow(x, static_cast<float>(n));
}
KVQ_EXPORT double __nv_powi(double x, int32_t n) { return std::pow(x, n); }
KVQ_EXPORT float __nv_ldexpf(float x, int32_t n) { return std::ldexp(x, n); }
KVQ_EXPORT double __nv_ldexp(double x, int32_t n) { return std::ldexp(x, n); }
KVQ_EXPORT int32_t __nv_isnanf(float x) { return std::isnan(x); }
KVQ_EXPORT int32_t __nv_isnand(double x) { return std::isnan(x); }
KVQ_EXPORT int32_t __nv_isinff(float x) { return std::isinf(x); }
KVQ_EXPORT int32_t __nv_isinfd(double x) { return std::isinf(x); }
KVQ_EXPORT int32_t __nv_finitef(float x) { return std::isfinite(x); }
KVQ_EXPORT int32_t __nv_isfinited(double x) { return std::isfinite(x); }
KVQ_EXPORT float __nv_saturatef(float x) {
  return std::isnan(x) ? 0.0f : std::fmin(std::fmax(x, 0.0f), 1.0f);
}
KVQ_EXPORT float __nv_fast_expf(float x) { return std::exp(x); }
KVQ_EXPORT float __nv_fast_exp10f(float x) { return std::pow(10.0f, x); }
KVQ_EXPORT float __nv_fast_logf(float x) { return std::log(x); }
KVQ_EXPORT float __nv_fast_log2f(float x) { return std::log2(x); }
KVQ_EXPORT float __nv_fast_log10f(float x) { return std::log10(x); }
KVQ_EXPORT float __nv_fast_powf(float x, float y) { return std::pow(x, y); }
KVQ_EXPORT float __nv_fast_sinf(float x) { return std::sin(x); }
KVQ_EXPORT float __nv_fast_cosf(float x) { return std::cos(x); }
KVQ_EXPORT float __nv_fast_tanf(float x) { return std::tan(x); }
KVQ_EXPORT float __nv_fdividef(float x, float y) { return x / y; }

// The .approx instructions are within a few ulp of these (ex2.approx.f32:
// 2 ulp, lg2.approx.f32: 2^-22 absolute near 1); .ftz flushes subnormal
// inputs and results.
KVQ_EXPORT float __kvq_emu_ex2_approx_f32(float x) { return std::exp2(x); }
KVQ_EXPORT float __kvq_emu_ex2_approx_ftz_f32(float x) {
  return ftz(std::exp2(ftz(x)));
}
KVQ_EXPORT float __kvq_emu_lg2_approx_f32(float x) { return std::log2(x); }
KVQ_EXPORT float __kvq_emu_lg2_approx_ftz_f32(float x) {
  return ftz(std::log2(ftz(x)));
}
KVQ_EXPORT float __kvq_emu_rcp_approx_ftz_f32(float x) {
  return ftz(1.0f / ftz(x));
}
KVQ_EXPORT float __kvq_emu_rsqrt_approx_f32(float x) {
  return 1.0f / std::sqrt(x);
}
KVQ_EXPORT float __kvq_emu_rsqrt_approx_ftz_f32(float x) {
  return ftz(1.0f / std::sqrt(ftz(x)));
}
KVQ_EXPORT float __kvq_emu_sqrt_approx_f32(float x) { return std::sqrt(x); }
KVQ_EXPORT float __kvq_emu_sin_approx_f32(float x) { return std::sin(x); }
KVQ_EXPORT float __kvq_emu_cos_approx_f32(float x) { return std::cos(x); }
KVQ_EXPORT float __kvq_emu_tanh_approx_f32(float x) { return std::tanh(x); }

// Inline PTX register moves. Out of line (a library function), so the
// optimizers of the emulated kernel cannot see through them either.
KVQ_EXPORT uint32_t __kvq_emu_mov_b32(uint32_t x) { return x; }
KVQ_EXPORT uint64_t __kvq_emu_mov_b64(uint64_t x) { return x; }

// lop3.b32 d, a, b, c, lut: bit i of d is bit (a_i b_i c_i) of lut, read
// as a 3-bit index (a the high bit: a = 0xF0, b = 0xCC, c = 0xAA).
KVQ_EXPORT uint32_t __kvq_emu_lop3(uint32_t a, uint32_t b, uint32_t c,
                                   uint32_t lut) {
  uint32_t d = 0;
  for (uint32_t index = 0; index < 8; ++index)
    if (lut & (1u << index))
      d |= ((index & 4) ? a : ~a) & ((index & 2) ? b : ~b) &
           ((index & 1) ? c : ~c);
  return d;
}

// prmt.b32 d, a, b, c (default mode): byte i of d is byte c[4i+2:4i] of
// {b, a} (a holds bytes 0-3), or its sign bit replicated when c[4i+3] is set.
KVQ_EXPORT uint32_t __kvq_emu_prmt(uint32_t a, uint32_t b, uint32_t c) {
  uint64_t bytes = (static_cast<uint64_t>(b) << 32) | a;
  uint32_t d = 0;
  for (int i = 0; i < 4; ++i) {
    uint32_t select = (c >> (4 * i)) & 0xf;
    uint32_t byte = (bytes >> (8 * (select & 7))) & 0xff;
    if (select & 8)
      byte = (byte & 0x80) ? 0xff : 0;
    d |= byte << (8 * i);
  }
  return d;
}

// cvt.rn{.relu}.f16x2.{e4m3x2,e5m2x2}: two FP8 codes (the low byte to the
// low half) to f16, exactly (every e4m3 / e5m2 value is an f16); NaN becomes
// the canonical f16 NaN, .relu makes negative values +0.
static uint16_t fp8ToHalf(uint32_t code, bool e5m2, bool relu) {
  uint16_t bits;
  if (e5m2) {
    bits = static_cast<uint16_t>(code << 8);
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff))
      return 0x7fff;
  } else {
    uint32_t sign = code >> 7, exponent = (code >> 3) & 0xf,
             mantissa = code & 7;
    if (exponent == 15 && mantissa == 7)
      return 0x7fff;
    float magnitude = exponent ? std::ldexp(1.0f + mantissa / 8.0f,
                                            static_cast<int>(exponent) - 7)
                               : std::ldexp(static_cast<float>(mantissa), -9);
    _Float16 half = static_cast<_Float16>(sign ? -magnitude : magnitude);
    std::memcpy(&bits, &half, 2);
  }
  if (relu && (bits & 0x8000))
    return 0;
  return bits;
}

KVQ_EXPORT uint32_t __kvq_emu_cvt_f16x2_f8x2(uint32_t codes, int32_t e5m2,
                                             int32_t relu) {
  return fp8ToHalf(codes & 0xff, e5m2, relu) |
         (static_cast<uint32_t>(fp8ToHalf((codes >> 8) & 0xff, e5m2, relu))
          << 16);
}
