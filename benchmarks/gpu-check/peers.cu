// The roofline peers of gpu-check, ours (no library): a device-to-device copy (16-byte loads and
// stores, grid-stride) for the copy bandwidth, and a simple shared-memory-tiled SGEMM (64x64 tile
// per block, 4x4 per thread, fp32 FMA, no tensor cores) for a matmul rate our kernels can be held
// to without PyTorch. Built here with nvcc (prepare.ts), loaded there as peers.cubin.
#include <cstdint>

extern "C" __global__ void __launch_bounds__(256) peer_copy(int4* __restrict__ dst, const int4* __restrict__ src, int64_t n16) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n16; i += (int64_t)gridDim.x * blockDim.x) dst[i] = src[i];
}

// C[M,N] = A[M,K] * B[K,N], row-major; M, N multiples of 64, K a multiple of 16.
extern "C" __global__ void __launch_bounds__(256) peer_sgemm(float* __restrict__ C, const float* __restrict__ A, const float* __restrict__ B, int64_t M, int64_t N, int64_t K) {
  __shared__ float As[16][64 + 4];
  __shared__ float Bs[16][64];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t row0 = blockIdx.y * 64, col0 = blockIdx.x * 64;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    for (int i = threadIdx.x; i < 64 * 16; i += 256) {
      int r = i / 16, c = i % 16;
      As[c][r] = A[(row0 + r) * K + k0 + c];
      int br = i / 64, bc = i % 64;
      Bs[br][bc] = B[(k0 + br) * N + col0 + bc];
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < 16; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[k][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) C[(row0 + ty * 4 + i) * N + col0 + tx * 4 + j] = acc[i][j];
}
