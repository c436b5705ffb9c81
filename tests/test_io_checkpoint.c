#include "helpers_nn.h"

#include "io/checkpoint.h"
#include "io/ckpt_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/ak_ckpt_test_%d_%s", (int)getpid(), name);
    return buf;
}

/* One Adam step so the optimizer state is not all zeros. */
static void train_one_step(ak_model *m, ak_optim *o)
{
    ak_model_desc d = *ak_model_get_desc(m);
    th_batch b = th_make_batch(3, 5, 4, d.src_vocab, d.tgt_vocab, 3);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *loss = ak_model_loss(&c, m, b.src, b.B, b.Ls, b.tgt_in, b.tgt_out, b.Lt, 0.1f, NULL, NULL);
    ak_err err = {{0}};
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    ak_optim_step(o);
    ak_ctx_free(&c);
}

Test(io_checkpoint, model_optimizer_and_tokenizer_round_trip)
{
    ak_model *m = th_model(th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_GENERAL, 1, 2), 8);
    ak_optim o, o2;
    ak_err err = {{0}};
    ak_optim_cfg cfg = ak_adam_cfg(1e-3);
    cr_assert_eq(ak_optim_init(&o, ak_model_params(m), &cfg, &err), 0);
    train_one_step(m, &o);
    const char *texts[] = {"the cat sat", "the dog sat", "a cat ran", "the cat ran"};
    ak_tokenizer *tok;
    cr_assert_eq(ak_tokenizer_train(AK_TOK_BPE, texts, 4, 20, 1, &tok, &err), 0, "%s", err.msg);

    const char *path = tmp_path("rt.ckpt");
    ak_container_writer *w = ak_ckpt_begin(path, m, &o, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(ak_ckpt_put_tokenizer(w, "src", tok, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_ckpt_commit(w, &err), 0, "%s", err.msg);

    ak_container *c = ak_ckpt_open(path, &err);
    cr_assert_not_null(c, "%s", err.msg);
    ak_model *m2 = ak_ckpt_load_model(c, &err);
    cr_assert_not_null(m2, "%s", err.msg);
    ak_params *p = ak_model_params(m), *p2 = ak_model_params(m2);
    cr_assert_eq(p->total, p2->total);
    cr_expect_eq(memcmp(p->data, p2->data, sizeof(float) * (size_t)p->total), 0);
    char *t1 = ak_model_desc_to_text(ak_model_get_desc(m)), *t2 = ak_model_desc_to_text(ak_model_get_desc(m2));
    cr_expect_str_eq(t1, t2);
    free(t1);
    free(t2);
    cr_assert_eq(ak_optim_init(&o2, p2, &cfg, &err), 0);
    cr_assert_eq(ak_ckpt_load_optim(c, &o2, &err), 0, "%s", err.msg);
    cr_expect_eq(o2.step, 1);
    cr_expect_eq(memcmp(o.buf[1], o2.buf[1], sizeof(float) * (size_t)o.n), 0);

    ak_tokenizer *tok2;
    cr_assert_eq(ak_ckpt_get_tokenizer(c, "src", &tok2, &err), 0, "%s", err.msg);
    ak_ids a = {0}, b = {0};
    cr_assert_eq(ak_tokenizer_encode(tok, "the cat ran away", &a, &err), 0);
    cr_assert_eq(ak_tokenizer_encode(tok2, "the cat ran away", &b, &err), 0);
    cr_assert_eq(a.n, b.n);
    cr_expect_eq(memcmp(a.v, b.v, sizeof(int32_t) * a.n), 0, "the restored tokenizer encodes differently");
    ak_tokenizer *none;
    cr_expect_eq(ak_ckpt_get_tokenizer(c, "tgt", &none, &err), -1);
    cr_expect_null(none);
    cr_expect(strstr(err.msg, "missing record 'tok/tgt/kind'") != NULL, "%s", err.msg);

    ak_ids_free(&a);
    ak_ids_free(&b);
    ak_tokenizer_free(tok);
    ak_tokenizer_free(tok2);
    ak_container_close(c);
    ak_optim_free(&o);
    ak_optim_free(&o2);
    ak_model_free(m);
    ak_model_free(m2);
    unlink(path);
}

Test(io_checkpoint, corrupt_or_wrong_files_are_refused_and_never_half_loaded)
{
    ak_model *m = th_model(th_tiny_transformer(), 8);
    ak_err err = {{0}};
    const char *path = tmp_path("bad.ckpt");
    ak_container_writer *w = ak_ckpt_begin(path, m, NULL, &err);
    cr_assert_eq(ak_ckpt_commit(w, &err), 0, "%s", err.msg);

    /* flip one byte in the middle of the compressed payload */
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    cr_expect_null(ak_ckpt_open(path, &err));
    cr_expect(strstr(err.msg, path) != NULL, "the message names the file: %s", err.msg);

    /* truncated */
    cr_assert_eq(truncate(path, size / 3), 0);
    cr_expect_null(ak_ckpt_open(path, &err));
    cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);

    /* an optimizer record the run does not have */
    w = ak_ckpt_begin(path, m, NULL, &err);
    cr_assert_eq(ak_ckpt_commit(w, &err), 0, "%s", err.msg);
    ak_container *c = ak_ckpt_open(path, &err);
    cr_assert_not_null(c, "%s", err.msg);
    ak_optim o;
    ak_optim_cfg cfg = ak_adam_cfg(1e-3);
    cr_assert_eq(ak_optim_init(&o, ak_model_params(m), &cfg, &err), 0);
    cr_expect_eq(ak_ckpt_load_optim(c, &o, &err), -1);
    cr_expect(strstr(err.msg, "missing record 'optim/kind'") != NULL, "%s", err.msg);
    ak_container_close(c);
    ak_optim_free(&o);
    unlink(path);
    ak_model_free(m);
}
