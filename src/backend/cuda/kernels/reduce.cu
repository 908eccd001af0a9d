// Reductions along one axis of a tensor viewed as [outer, len, inner]: sums, products,
// extrema, all/any, arg-extrema and cumulative sums. Rows (inner == 1) are reduced by a warp
// each when short and by a whole block when long; other axes, and rows of at most 32 values,
// by one thread per output column, reading neighbouring columns together. The op codes come from ReduceOp/ArgReduceOp in
// src/backend/kinds.rs (the REDUCE_* / ARG_* constants are generated from them).

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned char u8;

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// Max and min propagate NaN, as the CPU backend does.
__device__ __forceinline__ float max_f32(float a, float b) { return (a != a || a >= b) ? a : b; }
__device__ __forceinline__ float min_f32(float a, float b) { return (a != a || a <= b) ? a : b; }

__device__ __forceinline__ float combine(unsigned op, float a, float b) {
  switch (op) {
    case REDUCE_SUM: return a + b;
    case REDUCE_PROD: return a * b;
    case REDUCE_MAX: return max_f32(a, b);
    default: return min_f32(a, b);
  }
}
__device__ __forceinline__ i64 combine(unsigned op, i64 a, i64 b) {
  switch (op) {
    case REDUCE_SUM: return (i64)((u64)a + (u64)b);
    case REDUCE_PROD: return (i64)((u64)a * (u64)b);
    case REDUCE_MAX: return a >= b ? a : b;
    default: return a <= b ? a : b;
  }
}
__device__ __forceinline__ u8 combine(unsigned op, u8 a, u8 b) {
  return op == REDUCE_ALL ? (u8)(a & b) : (u8)(a | b);
}

__device__ __forceinline__ float identity(unsigned op, float) {
  switch (op) {
    case REDUCE_SUM: return 0.f;
    case REDUCE_PROD: return 1.f;
    case REDUCE_MAX: return __int_as_float(0xff800000);  // -inf
    default: return __int_as_float(0x7f800000);          // +inf
  }
}
__device__ __forceinline__ i64 identity(unsigned op, i64) {
  switch (op) {
    case REDUCE_SUM: return 0;
    case REDUCE_PROD: return 1;
    case REDUCE_MAX: return (i64)(1ull << 63);
    default: return (i64)((1ull << 63) - 1);
  }
}
__device__ __forceinline__ u8 identity(unsigned op, u8) { return op == REDUCE_ALL ? 1 : 0; }

template <class T>
__device__ __forceinline__ T warp_reduce(unsigned op, T v) {
  for (int o = 16; o > 0; o >>= 1) v = combine(op, v, (T)__shfl_down_sync(0xffffffffu, v, o));
  return v;
}

// One warp per row: blocks of 256 threads reduce 8 rows at a time.
template <class T>
__device__ void rows_warp(const T* x, T* out, u64 rows, u64 len, unsigned op) {
  unsigned lane = threadIdx.x & 31;
  u64 warp = (blockIdx.x * (u64)blockDim.x + threadIdx.x) >> 5;
  u64 warps = ((u64)gridDim.x * blockDim.x) >> 5;
  for (u64 r = warp; r < rows; r += warps) {
    T v = identity(op, T());
    const T* row = x + r * len;
    for (u64 j = lane; j < len; j += 32) v = combine(op, v, row[j]);
    v = warp_reduce(op, v);
    if (lane == 0) out[r] = v;
  }
}

// One block per row, for long rows.
template <class T>
__device__ void rows_block(const T* x, T* out, u64 rows, u64 len, unsigned op) {
  __shared__ T partial[32];
  unsigned lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    T v = identity(op, T());
    const T* row = x + r * len;
    for (u64 j = threadIdx.x; j < len; j += blockDim.x) v = combine(op, v, row[j]);
    v = warp_reduce(op, v);
    if (lane == 0) partial[wid] = v;
    __syncthreads();
    if (wid == 0) {
      v = lane < nw ? partial[lane] : identity(op, T());
      v = warp_reduce(op, v);
      if (lane == 0) out[r] = v;
    }
    __syncthreads();  // partial is reused by the next row
  }
}

// One thread per output column of [outer, len, inner] with inner > 1.
template <class T>
__device__ void cols(const T* x, T* out, u64 outer, u64 len, u64 inner, unsigned op) {
  GRID_STRIDE(i, outer * inner) {
    u64 o = i / inner, c = i % inner;
    const T* p = x + o * len * inner + c;
    T v = identity(op, T());
    for (u64 j = 0; j < len; ++j) v = combine(op, v, p[j * inner]);
    out[i] = v;
  }
}

#define REDUCE_KERNELS(suffix, T)                                                              \
  extern "C" __global__ void reduce_rows_warp_##suffix(const T* x, T* out, u64 rows, u64 len, \
                                                        unsigned op) {                         \
    rows_warp<T>(x, out, rows, len, op);                                                       \
  }                                                                                            \
  extern "C" __global__ void reduce_rows_block_##suffix(const T* x, T* out, u64 rows, u64 len, \
                                                         unsigned op) {                        \
    rows_block<T>(x, out, rows, len, op);                                                      \
  }                                                                                            \
  extern "C" __global__ void reduce_cols_##suffix(const T* x, T* out, u64 outer, u64 len,      \
                                                   u64 inner, unsigned op) {                   \
    cols<T>(x, out, outer, len, inner, op);                                                    \
  }

REDUCE_KERNELS(f32, float)
REDUCE_KERNELS(i64, i64)
REDUCE_KERNELS(u8, u8)

// Arg-extrema: the first index of the largest (smallest) value; a NaN beats everything and
// the first NaN wins, as on the CPU.
template <class T>
__device__ __forceinline__ bool better(unsigned op, T cand, u64 ci, T best, u64 bi) {
  bool cn = cand != cand, bn = best != best;
  if (cn || bn) return cn && (!bn || ci < bi);
  if (cand == best) return ci < bi;
  return op == ARG_MAX ? cand > best : cand < best;
}

template <class T>
__device__ void arg_rows(const T* x, i64* out, u64 rows, u64 len, unsigned op) {
  unsigned lane = threadIdx.x & 31;
  u64 warp = (blockIdx.x * (u64)blockDim.x + threadIdx.x) >> 5;
  u64 warps = ((u64)gridDim.x * blockDim.x) >> 5;
  for (u64 r = warp; r < rows; r += warps) {
    const T* row = x + r * len;
    T best = row[0];
    u64 bi = 0;
    for (u64 j = lane; j < len; j += 32)
      if (better(op, row[j], j, best, bi)) { best = row[j]; bi = j; }
    for (int o = 16; o > 0; o >>= 1) {
      T ob = __shfl_down_sync(0xffffffffu, best, o);
      u64 oi = __shfl_down_sync(0xffffffffu, bi, o);
      if (better(op, ob, oi, best, bi)) { best = ob; bi = oi; }
    }
    if (lane == 0) out[r] = (i64)bi;
  }
}

template <class T>
__device__ void arg_cols(const T* x, i64* out, u64 outer, u64 len, u64 inner, unsigned op) {
  GRID_STRIDE(i, outer * inner) {
    u64 o = i / inner, c = i % inner;
    const T* p = x + o * len * inner + c;
    T best = p[0];
    u64 bi = 0;
    for (u64 j = 1; j < len; ++j)
      if (better(op, p[j * inner], j, best, bi)) { best = p[j * inner]; bi = j; }
    out[i] = (i64)bi;
  }
}

#define ARG_KERNELS(suffix, T)                                                                 \
  extern "C" __global__ void arg_rows_##suffix(const T* x, i64* out, u64 rows, u64 len,       \
                                                unsigned op) {                                 \
    arg_rows<T>(x, out, rows, len, op);                                                        \
  }                                                                                            \
  extern "C" __global__ void arg_cols_##suffix(const T* x, i64* out, u64 outer, u64 len,      \
                                                u64 inner, unsigned op) {                      \
    arg_cols<T>(x, out, outer, len, inner, op);                                                \
  }

ARG_KERNELS(f32, float)
ARG_KERNELS(i64, i64)

// Cumulative sums along the axis: one thread per line (outer, inner), walking len.
#define CUMSUM_KERNEL(suffix, T, add)                                                          \
  extern "C" __global__ void cumsum_##suffix(const T* x, T* out, u64 outer, u64 len,          \
                                             u64 inner) {                                      \
    GRID_STRIDE(i, outer * inner) {                                                            \
      u64 o = i / inner, c = i % inner;                                                        \
      u64 base = o * len * inner + c;                                                          \
      T acc = 0;                                                                               \
      for (u64 j = 0; j < len; ++j) {                                                          \
        T v = x[base + j * inner];                                                             \
        acc = add;                                                                             \
        out[base + j * inner] = acc;                                                           \
      }                                                                                        \
    }                                                                                          \
  }

CUMSUM_KERNEL(f32, float, acc + v)
CUMSUM_KERNEL(i64, i64, (i64)((u64)acc + (u64)v))
