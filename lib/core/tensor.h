/* Tensors: float32, up to 4 dimensions, contiguous row-major.
 *
 * A tensor is a small header over a data buffer it does not own: training
 * activations point into the per-step arena, parameters into the flat
 * buffers of an ak_params store. Views (ak_reshape, ak_detach) share the
 * buffer; transpose and permute copy (the GEMM absorbs the transposes that
 * matter, so a strided layout would buy little and complicate every kernel). */
#ifndef AK_CORE_TENSOR_H
#define AK_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define AK_MAX_DIMS 4

struct ak_node;

typedef struct ak_tensor {
    float *data;
    float *grad;                  /* NULL until a backward pass needs it */
    int64_t shape[AK_MAX_DIMS];
    int ndim;
    int64_t size;                 /* product of shape */
    int requires_grad;
    int is_param;                 /* grad is persistent and accumulates */
    struct ak_node *node;         /* op that produced it; NULL for leaves */
    const char *name;             /* parameters only */
} ak_tensor;

/* Fills shape/ndim/size. Returns 0, or -1 when ndim is outside [0, 4], a
 * dimension is negative, or the element count overflows int64. */
int ak_tensor_set_shape(ak_tensor *t, int ndim, const int64_t *shape);

/* Writes "[2, 3, 4]" into buf (always terminated); returns buf. */
char *ak_shape_str(const ak_tensor *t, char *buf, size_t n);

/* Size of dimension `axis`; negative counts from the end (-1 = last). */
int64_t ak_dim(const ak_tensor *t, int axis);

/* Normalises a possibly negative axis; -1 if out of range. */
int ak_axis(const ak_tensor *t, int axis);

/* Product of the dimensions before the last one ("rows" for last-axis ops). */
int64_t ak_rows(const ak_tensor *t);

/* 1 when both have the same ndim and dimensions. */
int ak_same_shape(const ak_tensor *a, const ak_tensor *b);

/* Broadcast shape of a and b under NumPy rules (right-aligned, size-1
 * dimensions stretch). Returns 0 and fills out/ndim, or -1 if incompatible. */
int ak_broadcast_shape(const ak_tensor *a, const ak_tensor *b, int64_t out[AK_MAX_DIMS], int *ndim);

#endif
