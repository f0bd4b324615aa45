/* The dsv3c cpu kernel ABI, version 1: what a cpu kernel library exports so the native addon can
 * run it (runtime/native/README.md has the whole story).
 *
 * A kernel library is a shared object built with `c++ -O2 -shared -fPIC` (C works too). For each
 * kernel NAME it exports two C symbols:
 *   void NAME(const dsv3c_args* args, int32_t block_index, int32_t block_count);
 *   const dsv3c_kernel_info NAME__dsv3c_info;   // ABI version + one letter per argument
 * DSV3C_KERNEL(NAME, "kinds") declares both; follow it with the function body.
 *
 * A launch of `block_count` blocks calls NAME once per block_index in [0, block_count), on the
 * addon's thread pool, in any order and concurrently; it returns when every block is done. Blocks
 * must therefore write disjoint memory (or use atomics). A kernel must not throw or longjmp.
 *
 * Argument kinds, one letter per argument, in order:
 *   'p'  pointer: a cpu.Buffer's memory (or a raw address, or null)   -> args->v[i].p
 *   'i'  64-bit signed integer                                        -> args->v[i].i
 *   'f'  64-bit float (a JS number; narrow it yourself if you want f32) -> args->v[i].f
 * The addon checks the launch's argument count and kinds against the info before calling.
 */
#ifndef DSV3C_CPU_KERNEL_H
#define DSV3C_CPU_KERNEL_H

#include <stdint.h>

#define DSV3C_CPU_ABI_VERSION 1

typedef union dsv3c_arg {
  void* p;
  int64_t i;
  double f;
} dsv3c_arg;

typedef struct dsv3c_args {
  int32_t count;        /* number of entries in v, equal to strlen(info.arg_kinds) */
  const dsv3c_arg* v;
} dsv3c_args;

typedef void (*dsv3c_kernel_fn)(const dsv3c_args* args, int32_t block_index, int32_t block_count);

typedef struct dsv3c_kernel_info {
  int32_t abi_version;   /* DSV3C_CPU_ABI_VERSION */
  const char* arg_kinds; /* e.g. "ppfi" */
} dsv3c_kernel_info;

#ifdef __cplusplus
#define DSV3C_EXTERN_C extern "C"
#else
#define DSV3C_EXTERN_C
#endif

/* Default visibility so the symbols stay exported even under -fvisibility=hidden. */
#define DSV3C_KERNEL(name, kinds)                                                              \
  DSV3C_EXTERN_C __attribute__((visibility("default"))) const dsv3c_kernel_info name##__dsv3c_info = \
      {DSV3C_CPU_ABI_VERSION, kinds};                                                          \
  DSV3C_EXTERN_C __attribute__((visibility("default"))) void name(                             \
      const dsv3c_args* args, int32_t block_index, int32_t block_count)

#endif /* DSV3C_CPU_KERNEL_H */
