#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

int ak_tensor_set_shape(ak_tensor *t, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > AK_MAX_DIMS)
        return -1;
    int64_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] && size > INT64_MAX / shape[i])
            return -1;
        size *= shape[i];
    }
    t->ndim = ndim;
    for (int i = 0; i < AK_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->size = size;
    return 0;
}

char *ak_shape_str(const ak_tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    if (n == 0)
        return buf;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int ak_axis(const ak_tensor *t, int axis)
{
    if (axis < 0)
        axis += t->ndim;
    return axis >= 0 && axis < t->ndim ? axis : -1;
}

int64_t ak_dim(const ak_tensor *t, int axis)
{
    int a = ak_axis(t, axis);
    return a < 0 ? 1 : t->shape[a];
}

int64_t ak_rows(const ak_tensor *t)
{
    if (t->ndim == 0)
        return 1;
    int64_t last = t->shape[t->ndim - 1];
    return last ? t->size / last : 0;
}

int ak_same_shape(const ak_tensor *a, const ak_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

int ak_broadcast_shape(const ak_tensor *a, const ak_tensor *b, int64_t out[AK_MAX_DIMS], int *ndim)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        /* i counts from the last dimension */
        int64_t da = i < a->ndim ? a->shape[a->ndim - 1 - i] : 1;
        int64_t db = i < b->ndim ? b->shape[b->ndim - 1 - i] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        out[n - 1 - i] = da == 1 ? db : da;
    }
    *ndim = n;
    return 0;
}
