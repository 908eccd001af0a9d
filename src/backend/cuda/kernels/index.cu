// Indexing: index_select, gather, scatter_add, index_add, index_copy_, nonzero, and the range
// check of index tensors. Indices are i64 and checked by the op before a launch; the kernels
// still skip any index outside its axis, so a missed check can never fault the device.

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned char u8;

// An index tensor of shape dims[..rank] addressing a tensor with strides xst, whose axis `dim`
// (of length len) is replaced by the index value.
struct Gather {
  u64 dims[EMBER_MAX_DIMS];
  u64 xst[EMBER_MAX_DIMS];
  u64 len;
  unsigned rank;
  unsigned dim;
};

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// The offset in x for position i of the index tensor, or ~0 when the index is out of range.
__device__ __forceinline__ u64 gather_offset(const Gather& m, const i64* idx, u64 i) {
  i64 j = idx[i];
  if (j < 0 || (u64)j >= m.len) return ~0ull;
  u64 off = 0, rem = i;
  for (int d = (int)m.rank - 1; d >= 0; --d) {
    u64 c = rem % m.dims[d];
    rem /= m.dims[d];
    off += ((unsigned)d == m.dim ? (u64)j : c) * m.xst[d];
  }
  return off;
}

#define BY_WIDTH(bits, T)                                                                       \
  extern "C" __global__ void index_select_##bits(const T* x, const i64* idx, T* out, u64 outer, \
                                                 u64 len, u64 nidx, u64 inner) {                \
    GRID_STRIDE(i, outer * nidx * inner) {                                                      \
      u64 c = i % inner, j = i / inner % nidx, o = i / (inner * nidx);                          \
      i64 k = idx[j];                                                                           \
      if (k >= 0 && (u64)k < len) out[i] = x[(o * len + (u64)k) * inner + c];                   \
    }                                                                                           \
  }                                                                                             \
  extern "C" __global__ void gather_##bits(const T* x, const i64* idx, T* out, u64 n,         \
                                           Gather m) {                                          \
    GRID_STRIDE(i, n) {                                                                         \
      u64 off = gather_offset(m, idx, i);                                                       \
      if (off != ~0ull) out[i] = x[off];                                                        \
    }                                                                                           \
  }                                                                                             \
  extern "C" __global__ void index_copy_##bits(T* out, const i64* idx, const T* src,          \
                                               u64 outer, u64 len, u64 nidx, u64 inner) {       \
    GRID_STRIDE(i, outer * nidx * inner) {                                                      \
      u64 c = i % inner, j = i / inner % nidx, o = i / (inner * nidx);                          \
      i64 k = idx[j];                                                                           \
      if (k >= 0 && (u64)k < len) out[(o * len + (u64)k) * inner + c] = src[i];                 \
    }                                                                                           \
  }

BY_WIDTH(8, u8)
BY_WIDTH(32, unsigned)
BY_WIDTH(64, u64)

// Atomic adds: f32 natively, i64 as a wrapping add on the unsigned bits.
__device__ __forceinline__ void add_to(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void add_to(i64* p, i64 v) { atomicAdd((u64*)p, (u64)v); }

#define ACCUMULATE(suffix, T)                                                                   \
  extern "C" __global__ void scatter_add_##suffix(T* out, const i64* idx, const T* src, u64 n, \
                                                  Gather m) {                                   \
    GRID_STRIDE(i, n) {                                                                         \
      u64 off = gather_offset(m, idx, i);                                                       \
      if (off != ~0ull) add_to(out + off, src[i]);                                              \
    }                                                                                           \
  }                                                                                             \
  extern "C" __global__ void index_add_##suffix(T* out, const i64* idx, const T* src,          \
                                                u64 outer, u64 len, u64 nidx, u64 inner) {      \
    GRID_STRIDE(i, outer * nidx * inner) {                                                      \
      u64 c = i % inner, j = i / inner % nidx, o = i / (inner * nidx);                          \
      i64 k = idx[j];                                                                           \
      if (k >= 0 && (u64)k < len) add_to(out + (o * len + (u64)k) * inner + c, src[i]);         \
    }                                                                                           \
  }

ACCUMULATE(f32, float)
ACCUMULATE(i64, i64)

// The position of the first index outside [lo, hi) (or n when all are inside) in *first,
// which the host sets to n before the launch.
extern "C" __global__ void index_check(const i64* idx, u64 n, i64 lo, i64 hi, u64* first) {
  GRID_STRIDE(i, n) {
    i64 k = idx[i];
    if (k < lo || k >= hi) atomicMin(first, i);
  }
}

// nonzero in two passes over chunks of NZ_CHUNK elements, one chunk per block: count the
// non-zero elements of each chunk; then (after the host turned counts into offsets) write
// each chunk's positions, in order, with a block-wide prefix sum.
#define NZ_THREADS 256

__device__ __forceinline__ bool nonzero_value(float v) { return v != 0.f; }
__device__ __forceinline__ bool nonzero_value(i64 v) { return v != 0; }
__device__ __forceinline__ bool nonzero_value(u8 v) { return v != 0; }

#define NONZERO(suffix, T)                                                                      \
  extern "C" __global__ void nonzero_count_##suffix(const T* x, u64 n, u64 chunk,             \
                                                    u64* counts) {                              \
    __shared__ u64 part[NZ_THREADS / 32];                                                       \
    u64 chunks = (n + chunk - 1) / chunk;                                                       \
    for (u64 b = blockIdx.x; b < chunks; b += gridDim.x) {                                      \
      u64 lo = b * chunk, hi = lo + chunk < n ? lo + chunk : n, cnt = 0;                        \
      for (u64 i = lo + threadIdx.x; i < hi; i += blockDim.x) cnt += nonzero_value(x[i]);       \
      for (int o = 16; o > 0; o >>= 1) cnt += __shfl_down_sync(0xffffffffu, cnt, o);            \
      if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = cnt;                                \
      __syncthreads();                                                                          \
      if (threadIdx.x == 0) {                                                                   \
        u64 t = 0;                                                                              \
        for (unsigned w = 0; w < blockDim.x / 32; ++w) t += part[w];                            \
        counts[b] = t;                                                                          \
      }                                                                                         \
      __syncthreads();                                                                          \
    }                                                                                           \
  }                                                                                             \
  extern "C" __global__ void nonzero_write_##suffix(const T* x, u64 n, u64 chunk,             \
                                                    const u64* offsets, i64* out) {             \
    __shared__ u64 scan[NZ_THREADS];                                                            \
    u64 chunks = (n + chunk - 1) / chunk;                                                       \
    for (u64 b = blockIdx.x; b < chunks; b += gridDim.x) {                                      \
      u64 lo = b * chunk, hi = lo + chunk < n ? lo + chunk : n, at = offsets[b];                \
      for (u64 base = lo; base < hi; base += blockDim.x) {                                      \
        u64 i = base + threadIdx.x;                                                             \
        u64 flag = i < hi && nonzero_value(x[i]) ? 1 : 0;                                       \
        scan[threadIdx.x] = flag;                                                               \
        __syncthreads();                                                                        \
        for (unsigned s = 1; s < blockDim.x; s <<= 1) {                                         \
          u64 add = threadIdx.x >= s ? scan[threadIdx.x - s] : 0;                               \
          __syncthreads();                                                                      \
          scan[threadIdx.x] += add;                                                             \
          __syncthreads();                                                                      \
        }                                                                                       \
        if (flag) out[at + scan[threadIdx.x] - 1] = (i64)i;                                     \
        at += scan[blockDim.x - 1];                                                             \
        __syncthreads();                                                                        \
      }                                                                                         \
    }                                                                                           \
  }

NONZERO(f32, float)
NONZERO(i64, i64)
NONZERO(u8, u8)
