// Included last by a .cc file whose floating-point results must have the bits of a computation
// that rounds every product and every sum on its own: turns off FMA contraction for the functions
// defined after it in that file. GCC otherwise fuses a*b + c into an FMA wherever the target has
// one (aarch64; x86 code built with target("avx2,fma") or "avx512f", even written as
// _mm512_add_ps(_mm512_mul_ps(..))); explicit FMA intrinsics and std::fma stay FMAs.
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
