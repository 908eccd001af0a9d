// Layout copies: one strided gather serves permute, expand (stride 0), slice (a base offset
// and a step) and flip (negative strides); its mirror, a strided scatter, places each part of
// a concatenation. Kernels are per element width, so every dtype shares them.

typedef unsigned long long u64;
typedef long long i64;
typedef unsigned char u8;

struct Layout {
  u64 dims[EMBER_MAX_DIMS];  // the shape walked (the output for gathers, the part for scatters)
  i64 st[EMBER_MAX_DIMS];    // strides, in elements, of the strided side
  i64 base;                  // element offset of the strided side's first element
  unsigned rank;
  unsigned pad;
};

#define GRID_STRIDE(i, n) \
  for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

__device__ __forceinline__ i64 strided_offset(const Layout& m, u64 i) {
  i64 off = m.base;
  for (int d = (int)m.rank - 1; d >= 0; --d) {
    u64 c = i % m.dims[d];
    i /= m.dims[d];
    off += (i64)c * m.st[d];
  }
  return off;
}

#define LAYOUT_KERNELS(bits, T)                                                               \
  extern "C" __global__ void strided_read_##bits(const T* x, T* out, u64 n, Layout m) {      \
    GRID_STRIDE(i, n) out[i] = x[strided_offset(m, i)];                                       \
  }                                                                                           \
  extern "C" __global__ void strided_write_##bits(const T* x, T* out, u64 n, Layout m) {     \
    GRID_STRIDE(i, n) out[strided_offset(m, i)] = x[i];                                       \
  }

LAYOUT_KERNELS(8, u8)
LAYOUT_KERNELS(32, unsigned)
LAYOUT_KERNELS(64, u64)

// A 2-D transpose through shared memory tiles: [batch, rows, cols] -> [batch, cols, rows],
// coalesced on both sides (the common permute of matrices).
#define TILE 32
#define TRANSPOSE_KERNEL(bits, T)                                                             \
  extern "C" __global__ void transpose_##bits(const T* x, T* out, u64 batch, u64 rows,       \
                                              u64 cols) {                                     \
    __shared__ T tile[TILE][TILE + 1];                                                        \
    u64 tiles_r = (rows + TILE - 1) / TILE, tiles_c = (cols + TILE - 1) / TILE;               \
    u64 total = batch * tiles_r * tiles_c;                                                    \
    for (u64 t = blockIdx.x; t < total; t += gridDim.x) {                                     \
      u64 b = t / (tiles_r * tiles_c), rem = t % (tiles_r * tiles_c);                         \
      u64 r0 = rem / tiles_c * TILE, c0 = rem % tiles_c * TILE;                               \
      const T* src = x + b * rows * cols;                                                     \
      T* dst = out + b * rows * cols;                                                         \
      for (unsigned k = threadIdx.y; k < TILE; k += blockDim.y) {                             \
        u64 r = r0 + k, c = c0 + threadIdx.x;                                                 \
        if (r < rows && c < cols) tile[k][threadIdx.x] = src[r * cols + c];                   \
      }                                                                                       \
      __syncthreads();                                                                        \
      for (unsigned k = threadIdx.y; k < TILE; k += blockDim.y) {                             \
        u64 c = c0 + k, r = r0 + threadIdx.x;                                                 \
        if (r < rows && c < cols) dst[c * rows + r] = tile[threadIdx.x][k];                   \
      }                                                                                       \
      __syncthreads();                                                                        \
    }                                                                                         \
  }

TRANSPOSE_KERNEL(8, u8)
TRANSPOSE_KERNEL(32, unsigned)
TRANSPOSE_KERNEL(64, u64)
