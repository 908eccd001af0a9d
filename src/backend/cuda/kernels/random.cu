// Random numbers from Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): a counter-based generator, so element i of a draw is a pure function of
// (seed, offset + i) — the same seed gives the same numbers on every run and any grid.

typedef unsigned long long u64;
typedef long long i64;

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

struct Quad { unsigned v[4]; };

__device__ __forceinline__ Quad philox(u64 counter, u64 seed) {
  unsigned c0 = (unsigned)counter, c1 = (unsigned)(counter >> 32), c2 = 0, c3 = 0;
  unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    unsigned lo0 = 0xD2511F53u * c0, hi0 = __umulhi(0xD2511F53u, c0);
    unsigned lo1 = 0xCD9E8D57u * c2, hi1 = __umulhi(0xCD9E8D57u, c2);
    unsigned n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Quad q;
  q.v[0] = c0; q.v[1] = c1; q.v[2] = c2; q.v[3] = c3;
  return q;
}

// 24 random bits as a float in [0, 1).
__device__ __forceinline__ float unit(unsigned bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }

// Element i uses word i % 4 of the block for counter offset + i / 4.
extern "C" __global__ void rand_uniform(float* out, u64 n, u64 seed, u64 offset, float lo, float hi) {
  GRID_STRIDE(i, n) {
    Quad q = philox(offset + i / 4, seed);
    out[i] = lo + (hi - lo) * unit(q.v[i % 4]);
  }
}

// Box-Muller on words (0, 1) and (2, 3) of a block: elements 2k and 2k+1 share one block.
extern "C" __global__ void rand_normal(float* out, u64 n, u64 seed, u64 offset, float mean, float std) {
  GRID_STRIDE(i, n) {
    Quad q = philox(offset + i / 2, seed);
    unsigned a = (i % 2) ? q.v[2] : q.v[0], b = (i % 2) ? q.v[3] : q.v[1];
    float u1 = ((float)(a >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]: log is finite
    float u2 = unit(b);
    float z = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
    out[i] = mean + std * z;
  }
}

// Integers uniform in [lo, lo + span) from 64 random bits (the bias is below 2^-32 for any
// span under 2^32).
extern "C" __global__ void rand_int(i64* out, u64 n, u64 seed, u64 offset, i64 lo, u64 span) {
  GRID_STRIDE(i, n) {
    Quad q = philox(offset + i / 2, seed);
    u64 bits = (i % 2) ? ((u64)q.v[2] << 32 | q.v[3]) : ((u64)q.v[0] << 32 | q.v[1]);
    out[i] = (i64)((u64)lo + bits % span);
  }
}
