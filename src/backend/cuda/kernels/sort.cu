// Sorting and sampling per row: a stable argsort by ranks (each element counts the elements
// that sort before it, so equal keys keep their order and NaNs go last, as on the CPU), and
// categorical draws from rows of weights.

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned char u8;

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// Whether element (xj, j) sorts before (xi, i).
template <class T>
__device__ __forceinline__ bool sorts_before(T xj, u64 j, T xi, u64 i, bool descending) {
  bool nj = xj != xj, ni = xi != xi;
  if (nj != ni) return !nj;
  if (!nj && xj != xi) return descending ? xi < xj : xj < xi;
  return j < i;
}

#define ARGSORT_KERNEL(suffix, T)                                                            \
  extern "C" __global__ void argsort_##suffix(const T* x, i64* out, u64 rows, u64 len,      \
                                              unsigned descending) {                         \
    GRID_STRIDE(t, rows * len) {                                                             \
      u64 r = t / len, i = t % len;                                                          \
      const T* row = x + r * len;                                                            \
      T xi = row[i];                                                                         \
      u64 rank = 0;                                                                          \
      for (u64 j = 0; j < len; ++j) rank += sorts_before(row[j], j, xi, i, descending != 0); \
      out[r * len + rank] = (i64)i;                                                          \
    }                                                                                        \
  }

ARGSORT_KERNEL(f32, float)
ARGSORT_KERNEL(i64, i64)
ARGSORT_KERNEL(u8, u8)

// n draws with replacement per row of k weights, from uniforms u in [0, 1): the first
// category whose running total passes u * total (totals in double, as on the CPU). A row with
// a negative or non-finite weight lowers *bad to its index, one without a positive weight
// lowers *empty; the host set both to `rows` and reports the first such row.
extern "C" __global__ void multinomial(const float* p, u64 rows, u64 k, u64 n, const float* u,
                                       i64* out, u64* bad, u64* empty) {
  GRID_STRIDE(t, rows * n) {
    u64 r = t / n;
    const float* row = p + r * k;
    double total = 0.0;
    bool invalid = false;
    for (u64 c = 0; c < k; ++c) {
      float v = row[c];
      if (!(v >= 0.f) || v == __int_as_float(0x7f800000)) invalid = true;
      total += (double)v;
    }
    if (invalid) {
      atomicMin(bad, r);
      continue;
    }
    if (!(total > 0.0)) {
      atomicMin(empty, r);
      continue;
    }
    double target = (double)u[t] * total, acc = 0.0;
    u64 pick = k - 1;
    for (u64 c = 0; c < k; ++c) {
      acc += (double)row[c];
      if (target < acc) {
        pick = c;
        break;
      }
    }
    out[t] = (i64)pick;
  }
}
