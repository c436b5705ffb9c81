#include "helpers_nn.h"

#include "nn/capture.h"

#include <omp.h>

typedef struct loss_case {
    ak_model *m;
    th_batch b;
    float smoothing;
} loss_case;

static ak_tensor *batch_loss(ak_ctx *ctx, void *user)
{
    loss_case *lc = user;
    return ak_model_loss(ctx, lc->m, lc->b.src, lc->b.B, lc->b.Ls, lc->b.tgt_in, lc->b.tgt_out, lc->b.Lt,
                         lc->smoothing, NULL, NULL);
}

static void gradcheck_model(ak_model_desc d, int training)
{
    loss_case lc = {th_model(d, 3), th_make_batch(3, 5, 4, d.src_vocab, d.tgt_vocab, 7), 0.1f};
    th_param_gradcheck(ak_model_params(lc.m), batch_loss, &lc, training, 4);
    ak_model_free(lc.m);
}

Test(nn_models, transformer_gradients_eval_mode) { gradcheck_model(th_tiny_transformer(), 0); }

Test(nn_models, transformer_gradients_with_dropout)
{
    ak_model_desc d = th_tiny_transformer();
    d.dropout = 0.2f;
    gradcheck_model(d, 1);
}

Test(nn_models, transformer_learned_positions_gradients)
{
    ak_model_desc d = th_tiny_transformer();
    d.learned_pos = 1;
    gradcheck_model(d, 0);
}

Test(nn_models, rnn_gru_additive_gradients) { gradcheck_model(th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1), 0); }
Test(nn_models, rnn_lstm_dot_gradients) { gradcheck_model(th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_DOT, 0, 1), 0); }
Test(nn_models, rnn_gru_general_bidirectional_two_layers_gradients)
{
    gradcheck_model(th_tiny_rnn(AK_CELL_GRU, AK_ATTN_GENERAL, 1, 2), 0);
}
Test(nn_models, rnn_lstm_scaled_dot_gradients)
{
    gradcheck_model(th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_SCALED_DOT, 0, 2), 0);
}
Test(nn_models, rnn_gru_multihead_gradients_with_dropout)
{
    ak_model_desc d = th_tiny_rnn(AK_CELL_GRU, AK_ATTN_MULTIHEAD, 0, 1);
    d.dropout = 0.2f;
    gradcheck_model(d, 1);
}

/* Every captured map: rows sum to 1, masked keys get exactly 0. */
static void check_maps(ak_model_desc d)
{
    ak_model *m = th_model(d, 4);
    th_batch b = th_make_batch(4, 6, 5, d.src_vocab, d.tgt_vocab, 8);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_attn_capture cap;
    ak_capture_init(&cap);
    cr_assert_not_null(ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, &cap), "%s", c.err.msg);
    cr_assert(!cap.failed);
    int expect = d.kind == AK_MODEL_TRANSFORMER ? (int)(d.enc_layers + 2 * d.dec_layers) : 1;
    cr_assert_eq(cap.n, expect);
    for (int k = 0; k < cap.n; k++) {
        const ak_attn_map *mp = &cap.maps[k];
        cr_assert_eq(mp->batch, b.B);
        for (int64_t bi = 0; bi < mp->batch; bi++)
            for (int h = 0; h < mp->heads; h++)
                for (int64_t q = 0; q < mp->lq; q++) {
                    const float *row = ak_attn_map_row(mp, bi, h, q);
                    double sum = 0;
                    for (int64_t j = 0; j < mp->lk; j++) {
                        sum += row[j];
                        int masked = mp->role == AK_ROLE_DEC_SELF ? j > q : b.src[bi * b.Ls + j] == AK_PAD;
                        if (masked)
                            cr_expect_eq(row[j], 0.0f, "%s layer %d: key %lld of query %lld is masked",
                                         ak_attn_role_name(mp->role), mp->layer, (long long)j, (long long)q);
                    }
                    cr_expect(fabs(sum - 1.0) < 1e-5, "row sum %g", sum);
                }
    }
    ak_capture_free(&cap);
    ak_ctx_free(&c);
    ak_model_free(m);
}

Test(nn_models, transformer_attention_rows_sum_to_one_and_ignore_masked_keys) { check_maps(th_tiny_transformer()); }
Test(nn_models, rnn_attention_rows_sum_to_one_and_ignore_padding)
{
    check_maps(th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 1, 1));
}

/* Changing target token t leaves the logits of positions <= t-1... wait:
 * decoder input position t feeds outputs t, t+1, ..., so outputs before t
 * must not move. */
static void check_causal(ak_model_desc d)
{
    ak_model *m = th_model(d, 5);
    th_batch b = th_make_batch(2, 5, 6, d.src_vocab, d.tgt_vocab, 9);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *y0 = ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, NULL);
    const int64_t t = 3;
    for (int64_t i = 0; i < b.B; i++)
        b.tgt_in[i * b.Lt + t] = b.tgt_in[i * b.Lt + t] == 5 ? 6 : 5;
    ak_tensor *y1 = ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, NULL);
    cr_assert(y0 && y1);
    int64_t V = d.tgt_vocab;
    int later_changed = 0;
    for (int64_t i = 0; i < b.B; i++)
        for (int64_t p = 0; p < b.Lt; p++)
            for (int64_t v = 0; v < V; v++) {
                float a = y0->data[(i * b.Lt + p) * V + v], z = y1->data[(i * b.Lt + p) * V + v];
                if (p < t)
                    cr_expect_eq(a, z, "row %lld position %lld moved", (long long)i, (long long)p);
                else
                    later_changed |= a != z;
            }
    cr_expect(later_changed, "the edit did not reach later positions at all");
    ak_ctx_free(&c);
    ak_model_free(m);
}

Test(nn_models, transformer_decoder_is_causal) { check_causal(th_tiny_transformer()); }
Test(nn_models, rnn_decoder_is_causal) { check_causal(th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_GENERAL, 0, 2)); }

/* Extra padding (longer source and target rows of PAD) changes nothing at
 * real positions. */
static void check_padding(ak_model_desc d)
{
    ak_model *m = th_model(d, 6);
    th_batch b = th_make_batch(3, 4, 4, d.src_vocab, d.tgt_vocab, 10);
    enum { XS = 3, XT = 2 };
    int64_t Ls = b.Ls + XS, Lt = b.Lt + XT;
    int32_t src[64], tin[64];
    for (int64_t i = 0; i < b.B; i++) {
        for (int64_t t = 0; t < Ls; t++)
            src[i * Ls + t] = t < b.Ls ? b.src[i * b.Ls + t] : AK_PAD;
        for (int64_t t = 0; t < Lt; t++)
            tin[i * Lt + t] = t < b.Lt ? b.tgt_in[i * b.Lt + t] : AK_PAD;
    }
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *y0 = ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, NULL);
    ak_tensor *y1 = ak_model_forward(&c, m, src, b.B, Ls, tin, Lt, NULL);
    cr_assert(y0 && y1, "%s", c.err.msg);
    int64_t V = d.tgt_vocab;
    double worst = 0;
    for (int64_t i = 0; i < b.B; i++)
        for (int64_t p = 0; p < b.Lt; p++) {
            if (b.tgt_in[i * b.Lt + p] == AK_PAD)
                continue;
            for (int64_t v = 0; v < V; v++)
                worst = fmax(worst, fabs(y0->data[(i * b.Lt + p) * V + v] - y1->data[(i * Lt + p) * V + v]));
        }
    /* Only summation lengths change (extra exact zeros), so a few ulps at most. */
    cr_expect_lt(worst, 1e-5, "padding moved a real logit by %g", worst);
    ak_ctx_free(&c);
    ak_model_free(m);
}

Test(nn_models, transformer_padding_changes_nothing) { check_padding(th_tiny_transformer()); }
Test(nn_models, rnn_padding_changes_nothing) { check_padding(th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 1, 2)); }

/* Greedy-style incremental decoding reproduces the teacher-forced logits,
 * and selecting rows (beam search) permutes the state. */
static void check_incremental(ak_model_desc d)
{
    ak_model *m = th_model(d, 7);
    th_batch b = th_make_batch(3, 5, 6, d.src_vocab, d.tgt_vocab, 11);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_tensor *full = ak_model_forward(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.Lt, NULL);
    ak_decode_state *s = ak_model_begin_decode(&c, m, b.src, b.B, b.Ls, b.Lt, NULL);
    cr_assert(full && s, "%s", c.err.msg);
    int64_t V = d.tgt_vocab;
    double worst = 0;
    for (int64_t t = 0; t < b.Lt; t++) {
        int32_t prev[3];
        for (int64_t i = 0; i < b.B; i++)
            prev[i] = b.tgt_in[i * b.Lt + t];
        if (t == 2) {
            /* reverse the rows, then undo it: the state must follow */
            cr_assert_eq(ak_decode_state_select(&c, s, (const int32_t[]){2, 1, 0}, 3), 0);
            cr_assert_eq(ak_decode_state_select(&c, s, (const int32_t[]){2, 1, 0}, 3), 0);
        }
        ak_tensor *lo = ak_model_decode_step(&c, m, s, prev);
        cr_assert_not_null(lo, "%s", c.err.msg);
        for (int64_t i = 0; i < b.B; i++)
            for (int64_t v = 0; v < V; v++)
                worst = fmax(worst, fabs(lo->data[i * V + v] - full->data[(i * b.Lt + t) * V + v]));
    }
    cr_expect_lt(worst, 1e-5, "incremental logits differ by %g", worst);
    cr_expect_null(ak_model_decode_step(&c, m, s, b.tgt_in), "a step beyond max_steps must fail");
    cr_expect(strstr(c.err.msg, "beyond") != NULL, "%s", c.err.msg);
    ak_ctx_free(&c);
    ak_model_free(m);
}

Test(nn_models, transformer_incremental_decoding_matches_full_pass) { check_incremental(th_tiny_transformer()); }
Test(nn_models, rnn_incremental_decoding_matches_full_pass)
{
    check_incremental(th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_ADDITIVE, 1, 2));
}

/* Same seed and config: identical weights, and the training loss and every
 * gradient identical at 1 and 2 threads (dropout on). */
static void check_determinism(ak_model_desc d)
{
    float loss[2];
    ak_params *ps[2];
    ak_model *ms[2];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        ms[k] = th_model(d, 42);
        ps[k] = ak_model_params(ms[k]);
        th_batch b = th_make_batch(4, 8, 8, d.src_vocab, d.tgt_vocab, 12);
        ak_ctx c;
        ak_ctx_init(&c, 0, 1234);
        c.training = 1;
        ak_tensor *l = ak_model_loss(&c, ms[k], b.src, b.B, b.Ls, b.tgt_in, b.tgt_out, b.Lt, 0.1f, NULL, NULL);
        ak_err err = {{0}};
        cr_assert_eq(ak_backward(&c, l, &err), 0, "%s", err.msg);
        loss[k] = l->data[0];
        ak_ctx_free(&c);
    }
    omp_set_num_threads(2);
    cr_expect_eq(memcmp(&loss[0], &loss[1], sizeof(float)), 0, "loss %.9g vs %.9g", loss[0], loss[1]);
    cr_expect_eq(memcmp(ps[0]->data, ps[1]->data, sizeof(float) * (size_t)ps[0]->total), 0, "weights differ");
    cr_expect_eq(memcmp(ps[0]->grad, ps[1]->grad, sizeof(float) * (size_t)ps[0]->total), 0, "gradients differ");
    ak_model_free(ms[0]);
    ak_model_free(ms[1]);
}

Test(nn_models, transformer_bitwise_identical_at_1_and_2_threads)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_TRANSFORMER, 300, 280);
    d.d_model = 64;
    d.d_ff = 128;
    d.enc_layers = d.dec_layers = 1;
    check_determinism(d);
}

Test(nn_models, rnn_bitwise_identical_at_1_and_2_threads)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_RNN, 300, 280);
    d.d_model = 64;
    check_determinism(d);
}

Test(nn_models, bad_ids_and_descriptions_are_reported)
{
    ak_model *m = th_model(th_tiny_transformer(), 1);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    int32_t src[2] = {4, 11}, tin[2] = {2, 5};
    cr_expect_null(ak_model_forward(&c, m, src, 1, 2, tin, 2, NULL));
    cr_expect_str_eq(c.err.msg, "model: source id 11 at row 0 position 1 is outside the vocabulary [0, 11)");
    ak_ctx_free(&c);
    ak_model_free(m);
    ak_model_desc d = th_tiny_transformer();
    d.heads = 3;
    ak_err err = {{0}};
    cr_expect_null(ak_model_create(&d, 1, &err));
    cr_expect_str_eq(err.msg, "model: heads (3) must divide d_model (8)");
    ak_model_desc back;
    cr_expect_eq(ak_model_desc_from_text(&back, "kind = rnn\nsrc_vocab = 9\ntgt_vocab = 9\ncell = gru2\n", &err), -1);
    cr_expect_str_eq(err.msg, "model description line 4: bad value 'gru2' for 'cell'");
}

Test(nn_models, description_text_round_trip)
{
    ak_model_desc d = th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_GENERAL, 1, 2), back;
    char *text = ak_model_desc_to_text(&d);
    ak_err err = {{0}};
    cr_assert_eq(ak_model_desc_from_text(&back, text, &err), 0, "%s", err.msg);
    /* field by field: the struct has padding bytes */
    char *again = ak_model_desc_to_text(&back);
    cr_expect_str_eq(text, again);
    cr_expect_eq(back.cell, AK_CELL_LSTM);
    cr_expect_eq(back.attention, AK_ATTN_GENERAL);
    cr_expect_eq(back.bidirectional, 1);
    cr_expect_eq(back.enc_layers, 2);
    free(text);
    free(again);
}
