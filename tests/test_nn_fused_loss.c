/* ak_model_loss runs the generator and the loss fused
 * (ak_linear_cross_entropy): its loss and every parameter gradient must be
 * bitwise those of ak_cross_entropy(ak_model_forward(...)), for both model
 * kinds, with dropout and label smoothing on, at 1 and 2 threads. */
#include "helpers_nn.h"

#include "ops/ops.h"

#include <omp.h>

static void loss_and_grads(ak_model_desc d, int fused, int threads, float *loss, float *grad)
{
    omp_set_num_threads(threads);
    ak_model *m = th_model(d, 7);
    ak_params *ps = ak_model_params(m);
    /* 5 x 6 target rows make one row chunk; several chunks are covered in
     * test_ops_fused.c. */
    th_batch b = th_make_batch(5, 7, 6, d.src_vocab, d.tgt_vocab, 3);
    ak_ctx c;
    ak_ctx_init(&c, 0, 99);
    c.training = 1;
    int64_t n = -1;
    ak_tensor *l = fused ? ak_model_loss(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.tgt_out, b.Lt, 0.1f, &n, NULL)
                         : ak_cross_entropy(&c, ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, NULL),
                                            b.tgt_out, AK_PAD, 0.1f, &n);
    cr_assert_not_null(l, "%s", c.err.msg);
    cr_expect_gt(n, 0);
    ak_err err = {{0}};
    cr_assert_eq(ak_backward(&c, l, &err), 0, "%s", err.msg);
    *loss = l->data[0];
    memcpy(grad, ps->grad, sizeof(float) * (size_t)ps->total);
    ak_ctx_free(&c);
    ak_model_free(m);
}

static void check_bitwise(ak_model_desc d)
{
    ak_model *m = th_model(d, 7);
    int64_t total = ak_model_params(m)->total;
    ak_model_free(m);
    float lref, lgot, *gref = malloc(sizeof(float) * (size_t)total), *ggot = malloc(sizeof(float) * (size_t)total);
    loss_and_grads(d, 0, 1, &lref, gref);
    cr_expect(isfinite(lref) && lref > 1.0f, "loss %g", (double)lref);
    for (int t = 1; t <= 2; t++) {
        loss_and_grads(d, 1, t, &lgot, ggot);
        cr_expect_eq(memcmp(&lref, &lgot, sizeof(float)), 0, "loss %.9g vs %.9g (%d threads)", (double)lgot,
                     (double)lref, t);
        cr_expect_eq(memcmp(gref, ggot, sizeof(float) * (size_t)total), 0, "gradients differ (%d threads)", t);
    }
    omp_set_num_threads(2);
    free(gref);
    free(ggot);
}

Test(nn_fused_loss, transformer_model_loss_is_bitwise_forward_then_cross_entropy)
{
    check_bitwise(th_tiny_transformer());
}

Test(nn_fused_loss, rnn_model_loss_is_bitwise_forward_then_cross_entropy)
{
    check_bitwise(th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1));
}
