// Elementwise kernels: unary maps, broadcasting binary maps, comparisons, logic, where, casts
// and fills. The op switches (`unary_f32_op`, ...) are generated from the op enums in
// src/backend/kinds.rs and inserted at the marker below, so an op is added in one place.
// Shapes arrive merged by the host (at most EMBER_MAX_DIMS axes) in a struct passed by value.

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned char u8;

struct Bcast {
  u64 dims[EMBER_MAX_DIMS];       // output shape
  i64 st[3][EMBER_MAX_DIMS];      // strides of up to three operands (0 on broadcast axes)
  unsigned rank;
  unsigned pad;
};

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// Integer arithmetic wraps like Rust's wrapping_* (done in unsigned, where C defines it).
__device__ __forceinline__ i64 wrap_neg(i64 x) { return (i64)(0ull - (u64)x); }
__device__ __forceinline__ i64 wrap_add(i64 x, i64 y) { return (i64)((u64)x + (u64)y); }
__device__ __forceinline__ i64 wrap_sub(i64 x, i64 y) { return (i64)((u64)x - (u64)y); }
__device__ __forceinline__ i64 wrap_mul(i64 x, i64 y) { return (i64)((u64)x * (u64)y); }

// Floor division (PyTorch's `//` on integers); division by zero gives 0, MIN / -1 wraps.
__device__ __forceinline__ i64 floor_div(i64 x, i64 y) {
  if (y == 0) return 0;
  if (y == -1) return wrap_neg(x);
  i64 q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) q -= 1;
  return q;
}

// x ** y with wrapping; negative exponents give 0, exponents are capped at 2^32 - 1.
__device__ __forceinline__ i64 int_pow(i64 x, i64 y) {
  if (y < 0) return 0;
  u64 e = y > 4294967295ll ? 4294967295ull : (u64)y;
  u64 base = (u64)x, r = 1;
  while (e) {
    if (e & 1) r *= base;
    base *= base;
    e >>= 1;
  }
  return (i64)r;
}

//@generated-ops

// Offset of output element i in operand k.
__device__ __forceinline__ i64 operand_offset(const Bcast& m, u64 i, int k) {
  i64 off = 0;
  for (int d = (int)m.rank - 1; d >= 0; --d) {
    u64 c = i % m.dims[d];
    i /= m.dims[d];
    off += (i64)c * m.st[k][d];
  }
  return off;
}

extern "C" __global__ void unary_f32(const float* x, float* y, u64 n, unsigned op, float p0, float p1) {
  GRID_STRIDE(i, n) y[i] = unary_f32_op(op, x[i], p0, p1);
}

extern "C" __global__ void unary_i64(const i64* x, i64* y, u64 n, unsigned op) {
  GRID_STRIDE(i, n) y[i] = unary_i64_op(op, x[i]);
}

#define BINARY_KERNEL(name, T, U, body)                                                   \
  extern "C" __global__ void name(const T* a, const T* b, U* out, u64 n, unsigned op,   \
                                  Bcast m) {                                            \
    if (m.rank <= 1) {                                                                  \
      i64 sa = m.rank ? m.st[0][0] : 0, sb = m.rank ? m.st[1][0] : 0;                   \
      GRID_STRIDE(i, n) {                                                               \
        T x = a[(i64)i * sa], y = b[(i64)i * sb];                                       \
        out[i] = body;                                                                  \
      }                                                                                 \
    } else {                                                                            \
      GRID_STRIDE(i, n) {                                                               \
        T x = a[operand_offset(m, i, 0)], y = b[operand_offset(m, i, 1)];               \
        out[i] = body;                                                                  \
      }                                                                                 \
    }                                                                                   \
  }

BINARY_KERNEL(binary_f32, float, float, binary_f32_op(op, x, y))
BINARY_KERNEL(binary_i64, i64, i64, binary_i64_op(op, x, y))
BINARY_KERNEL(compare_f32, float, u8, compare_op(op, x, y))
BINARY_KERNEL(compare_i64, i64, u8, compare_op(op, x, y))
BINARY_KERNEL(compare_u8, u8, u8, compare_op(op, x, y))
BINARY_KERNEL(logical_u8, u8, u8, logical_op(op, x, y))

#define WHERE_KERNEL(name, T)                                                             \
  extern "C" __global__ void name(const u8* c, const T* a, const T* b, T* out, u64 n,   \
                                  Bcast m) {                                            \
    GRID_STRIDE(i, n) {                                                                 \
      out[i] = c[operand_offset(m, i, 0)] ? a[operand_offset(m, i, 1)]                  \
                                          : b[operand_offset(m, i, 2)];                 \
    }                                                                                   \
  }

WHERE_KERNEL(where_f32, float)
WHERE_KERNEL(where_i64, i64)
WHERE_KERNEL(where_u8, u8)

// Casts follow Rust's `as`: floats to integers truncate toward zero, saturate, NaN gives 0;
// anything to bool is "non-zero".
__device__ __forceinline__ i64 f32_to_i64(float x) {
  if (x != x) return 0;
  if (x >= 9.2233720368547758e18f) return 9223372036854775807ll;
  if (x <= -9.2233720368547758e18f) return (i64)(1ull << 63);
  return (i64)x;
}

#define CAST_KERNEL(name, T, U, expr) \
  extern "C" __global__ void name(const T* x, U* y, u64 n) { GRID_STRIDE(i, n) { T v = x[i]; y[i] = expr; } }

CAST_KERNEL(cast_f32_i64, float, i64, f32_to_i64(v))
CAST_KERNEL(cast_f32_u8, float, u8, (u8)(v != 0.f))
CAST_KERNEL(cast_i64_f32, i64, float, (float)v)
CAST_KERNEL(cast_i64_u8, i64, u8, (u8)(v != 0))
CAST_KERNEL(cast_u8_f32, u8, float, (float)(v != 0))
CAST_KERNEL(cast_u8_i64, u8, i64, (i64)(v != 0))

// True where a value is neither infinite nor NaN.
extern "C" __global__ void is_finite_f32(const float* x, u8* y, u64 n) {
  GRID_STRIDE(i, n) {
    float v = x[i];
    y[i] = (u8)(v == v && v != __int_as_float(0x7f800000) && v != __int_as_float(0xff800000));
  }
}

// Fills by element width (the value's bits, so one kernel serves f32 and i32 alike).
extern "C" __global__ void fill_8(u8* y, u64 n, unsigned v) { GRID_STRIDE(i, n) y[i] = (u8)v; }
extern "C" __global__ void fill_32(unsigned* y, u64 n, unsigned v) { GRID_STRIDE(i, n) y[i] = v; }
extern "C" __global__ void fill_64(u64* y, u64 n, u64 v) { GRID_STRIDE(i, n) y[i] = v; }

// start + i * step, the ranges of arange/linspace.
extern "C" __global__ void range_f32(float* y, u64 n, float start, float step) {
  GRID_STRIDE(i, n) y[i] = start + (float)i * step;
}
extern "C" __global__ void range_i64(i64* y, u64 n, i64 start, i64 step) {
  GRID_STRIDE(i, n) y[i] = wrap_add(start, wrap_mul((i64)i, step));
}
