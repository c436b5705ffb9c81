/* Our models against the PyTorch twin with the same weights on the same
 * padded batch (fixtures from tests/crosscheck/torch_fixture.py). The spec
 * asks for the same loss to 1e-4 relative; logits are compared too, so a
 * compensating pair of errors cannot hide. */
#include "fixture.h"

#include <math.h>

static void check_against_twin(const char *path)
{
    fixture fx;
    fixture_open(&fx, path);
    ak_model_desc d;
    ak_err err = {{0}};
    cr_assert_eq(ak_model_desc_from_text(&d, fx.desc, &err), 0, "%s", err.msg);
    ak_model *m = ak_model_create(&d, 1, &err);
    cr_assert_not_null(m, "%s", err.msg);
    fixture_load_params(&fx, m);

    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    c.training = 0; /* the twin ran in eval mode: no dropout */
    ak_tensor *logits = ak_model_forward(&c, m, fx.src, fx.B, fx.Ls, fx.tgt_in, fx.Lt, NULL);
    cr_assert_not_null(logits, "%s", c.err.msg);
    double worst = 0;
    for (int64_t i = 0; i < logits->size; i++)
        worst = fmax(worst, fabs((double)logits->data[i] - fx.logits[i]));
    /* float32 through a few layers: differences of a few ulps of O(1) values */
    cr_expect_lt(worst, 2e-5, "largest logit difference %g", worst);
    for (int s = 0; s < 2; s++) {
        ak_tensor *loss = ak_cross_entropy(&c, logits, fx.tgt_out, AK_PAD, s ? 0.1f : 0.0f, NULL);
        cr_assert_not_null(loss);
        double rel = fabs(loss->data[0] - fx.loss[s]) / fabs(fx.loss[s]);
        cr_expect_lt(rel, 1e-4, "smoothing %g: loss %.7f, PyTorch %.7f", s ? 0.1 : 0.0, loss->data[0], fx.loss[s]);
    }
    ak_ctx_free(&c);
    ak_model_free(m);
    fixture_close(&fx);
}

Test(nn_crosscheck, transformer_matches_pytorch_twin) { check_against_twin("tests/fixtures/torch_transformer.txt"); }

Test(nn_crosscheck, gru_additive_matches_pytorch_twin) { check_against_twin("tests/fixtures/torch_rnn.txt"); }
