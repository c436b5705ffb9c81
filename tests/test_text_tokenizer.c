/* Pre-tokenisation, detokenisation and the word/char tokenizers (lib/text/pretok.c, detok.c,
 * tokenizer.c).  Every expected token list, id list and detokenised string below was produced by the
 * twin's own functions (word_tokenize, WordVocab, detok, detok_glue) on the same input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/detok.h"
#include "text/pretok.h"
#include "text/tokenizer.h"
#include "fr40.h"

struct tok_case {
    const char *text, *tokens, *detok, *glue; /* tokens joined by '|' */
};

struct enc_case {
    const char *text;
    int32_t ids[32];
    size_t n;
    const char *detok, *glue;
};

static const struct tok_case tok_cases[] = {
    {"Vous êtes-vous blessée ?", "Vous|êtes|-|vous|blessée|?", "Vous êtes- vous blessée?", "Vous êtes-vous blessée?"},
    {"Sors-nous de là.", "Sors|-|nous|de|là|.", "Sors- nous de là.", "Sors-nous de là."},
    {"C’est une phrase étrange.", "C|’|est|une|phrase|étrange|.", "C’ est une phrase étrange.",
     "C’est une phrase étrange."},
    {"Il ne s'est rien passé d’inattendu.", "Il|ne|s|'|est|rien|passé|d|’|inattendu|.",
     "Il ne s' est rien passé d’ inattendu.", "Il ne s'est rien passé d’inattendu."},
    {"Quelqu'un d'autre peut-il répondre ?", "Quelqu|'|un|d|'|autre|peut|-|il|répondre|?",
     "Quelqu' un d' autre peut- il répondre?", "Quelqu'un d'autre peut-il répondre?"},
    {"Tom a pris sa retraite lorsqu'il a eu 65 ans.", "Tom|a|pris|sa|retraite|lorsqu|'|il|a|eu|65|ans|.",
     "Tom a pris sa retraite lorsqu' il a eu 65 ans.", "Tom a pris sa retraite lorsqu'il a eu 65 ans."},
    {"Ich werde das um 2:30 machen.", "Ich|werde|das|um|2|:|30|machen|.", "Ich werde das um 2: 30 machen.",
     "Ich werde das um 2: 30 machen."},
    {"Meine Frage ist: „Warum?“", "Meine|Frage|ist|:|„|Warum|?|“", "Meine Frage ist:„ Warum?“",
     "Meine Frage ist:„ Warum?“"},
    {"Es ist ungefähr so \xE2\x80\x8B\xE2\x80\x8Bgroß.", "Es|ist|ungefähr|so|\xE2\x80\x8B|\xE2\x80\x8B|groß|.",
     "Es ist ungefähr so\xE2\x80\x8B\xE2\x80\x8B groß.", "Es ist ungefähr so\xE2\x80\x8B\xE2\x80\x8B groß."},
    {"Marie ne porte pas de soutien‐gorge.", "Marie|ne|porte|pas|de|soutien|‐|gorge|.",
     "Marie ne porte pas de soutien‐ gorge.", "Marie ne porte pas de soutien‐ gorge."},
    {"Er will ein „iPad 4“.", "Er|will|ein|„|iPad|4|“|.", "Er will ein„ iPad 4“.", "Er will ein„ iPad 4“."},
    {"x² + ½ = 3,5 € ...", "x²|+|½|=|3|,|5|€|.|.|.", "x²+ ½= 3, 5€...", "x²+ ½= 3, 5€..."},
    {"e\xCC\x81té", "e|\xCC\x81|té", "e\xCC\x81 té", "e\xCC\x81 té"},
    {"snake_case and ΟΔΟΣ Σ Москва!", "snake_case|and|ΟΔΟΣ|Σ|Москва|!", "snake_case and ΟΔΟΣ Σ Москва!",
     "snake_case and ΟΔΟΣ Σ Москва!"},
    {"tab\x09here\xC2\xA0nbsp\xE3\x80\x80ideo\xE2\x80\x89thin", "tab|here|nbsp|ideo|thin", "tab here nbsp ideo thin",
     "tab here nbsp ideo thin"},
    {"", "", "", ""},
    {"   ", "", "", ""},
    {"l'«eau» — 1.5km/h; don't-stop", "l|'|«|eau|»|—|1|.|5km|/|h|;|don|'|t|-|stop", "l'« eau»— 1. 5km/ h; don' t- stop",
     "l'« eau»— 1. 5km/ h; don't-stop"},
};
/* twin: WordVocab(word_tokenize(fr40), 60) */
static const char *const word_itos[] = {
    "<pad>", "<unk>", "<s>",   "</s>",   ".",    "'",     "Je",   "est",      "Il",   "-",   "de",   "vous",
    "?",     "!",     ",",     "C",      "Vous", "ai",    "en",   "le",       "ne",   "pas", "que",  "suis",
    "une",   "Elle",  "J",     "Nous",   "a",    "bonne", "ceci", "d",        "dans", "l",   "lui",  "ma",
    "me",    "n",     "pense", "petite", "plus", "pour",  "un",   "vraiment", "à",    "ça",  "êtes", "être",
};
static const struct enc_case word_cases[] = {
    {"Vous êtes-vous blessée ?", {16, 46, 9, 11, 1, 12}, 6, "Vous êtes- vous <unk>?", "Vous êtes-vous <unk>?"},
    {"J'ai vu Tom aujourd'hui, 3 fois !",
     {26, 5, 17, 1, 1, 1, 5, 1, 14, 1, 1, 13},
     12,
     "J' ai <unk> <unk> <unk>' <unk>, <unk> <unk>!",
     "J'ai <unk> <unk> <unk>'<unk>, <unk> <unk>!"},
    {"Sors-nous de là.", {1, 9, 1, 10, 1, 4}, 6, "<unk>- <unk> de <unk>.", "<unk>-<unk> de <unk>."},
    {"Zébulon ŒUVRE", {1, 1}, 2, "<unk> <unk>", "<unk> <unk>"},
};

/* Splits "a|b|c" into words (pointers into a copy the caller frees). */
static size_t split_bar(const char *joined, char **copy, const char **words, size_t max)
{
    *copy = strdup(joined);
    size_t n = 0;
    if (!**copy)
        return 0;
    for (char *p = *copy; p && n < max;) {
        words[n++] = p;
        p = strchr(p, '|');
        if (p)
            *p++ = '\0';
    }
    return n;
}

Test(text_tokenizer, pretok_words_matches_the_twin_regex)
{
    for (size_t i = 0; i < sizeof tok_cases / sizeof *tok_cases; i++) {
        const struct tok_case *c = &tok_cases[i];
        ak_spans sp = {0};
        ak_err err = {{0}};
        cr_assert_eq(ak_pretok_words(c->text, strlen(c->text), &sp, &err), 0, "%s", err.msg);
        char got[512] = {0};
        size_t at = 0;
        for (size_t k = 0; k < sp.n; k++)
            at += (size_t)snprintf(got + at, sizeof got - at, "%s%.*s", k ? "|" : "", (int)sp.v[k].len,
                                   c->text + sp.v[k].off);
        cr_assert_str_eq(got, c->tokens, "case %zu", i);
        ak_spans_free(&sp);
    }
}

Test(text_tokenizer, detok_and_glue_match_the_twin)
{
    for (size_t i = 0; i < sizeof tok_cases / sizeof *tok_cases; i++) {
        const struct tok_case *c = &tok_cases[i];
        const char *w[64];
        char *copy;
        size_t n = split_bar(c->tokens, &copy, w, 64);
        char *plain = ak_detok(w, n, 0, NULL), *glue = ak_detok(w, n, 1, NULL);
        cr_assert_str_eq(plain, c->detok, "case %zu", i);
        cr_assert_str_eq(glue, c->glue, "case %zu", i);
        free(plain);
        free(glue);
        free(copy);
    }
}

Test(text_tokenizer, glue_needs_word_tokens_on_both_sides)
{
    const char *a[] = {"a", "-", "-", "b"}, *b[] = {"'", "t"}, *c[] = {"x", "’", "y", "'", "!"};
    char *s = ak_detok(a, 4, 1, NULL);
    cr_assert_str_eq(s, "a-- b"); /* twin: detok_glue(["a", "-", "-", "b"]) */
    free(s);
    s = ak_detok(b, 2, 1, NULL);
    cr_assert_str_eq(s, "' t");
    free(s);
    s = ak_detok(c, 5, 1, NULL);
    cr_assert_str_eq(s, "x’y'!");
    free(s);
    cr_assert(ak_is_punct_token("’", strlen("’")));
    cr_assert(!ak_is_punct_token("--", 2));
    cr_assert(!ak_is_punct_token("<unk>", 5));
    cr_assert(!ak_is_punct_token("é", strlen("é")));
}

static ak_tokenizer *train(ak_tok_kind kind, size_t vocab)
{
    ak_tokenizer *t = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_tokenizer_train(kind, fr40, sizeof fr40 / sizeof *fr40, vocab, 2, &t, &err), 0, "%s", err.msg);
    return t;
}

static void expect_itos(const ak_tokenizer *t, const char *const *want, size_t n)
{
    const ak_vocab *v = ak_tokenizer_vocab(t);
    cr_assert_eq(ak_vocab_size(v), n, "size %zu, want %zu", ak_vocab_size(v), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(ak_vocab_token(v, (int32_t)i), want[i], "id %zu", i);
}

static void expect_encodings(const ak_tokenizer *t, const struct enc_case *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++) {
        const struct enc_case *c = &cases[i];
        ak_ids ids = {0};
        ak_err err = {{0}};
        cr_assert_eq(ak_tokenizer_encode(t, c->text, &ids, &err), 0, "%s", err.msg);
        cr_assert_eq(ids.n, c->n, "case %zu: %zu ids, want %zu", i, ids.n, c->n);
        for (size_t k = 0; k < c->n; k++)
            cr_assert_eq(ids.v[k], c->ids[k], "case %zu id %zu", i, k);
        char *plain = ak_tokenizer_detok(t, ids.v, ids.n, 0, &err);
        char *glue = ak_tokenizer_detok(t, ids.v, ids.n, 1, &err);
        cr_assert_str_eq(plain, c->detok, "case %zu", i);
        cr_assert_str_eq(glue, c->glue, "case %zu", i);
        free(plain);
        free(glue);
        ak_ids_free(&ids);
    }
}

Test(text_tokenizer, word_vocab_and_ids_match_the_twin)
{
    ak_tokenizer *t = train(AK_TOK_WORD, 60);
    expect_itos(t, word_itos, sizeof word_itos / sizeof *word_itos);
    expect_encodings(t, word_cases, sizeof word_cases / sizeof *word_cases);
    ak_tokenizer_free(t);
}

Test(text_tokenizer, word_round_trip_with_min_count_1)
{
    ak_tokenizer *t = NULL;
    cr_assert_eq(ak_tokenizer_train(AK_TOK_WORD, fr40, sizeof fr40 / sizeof *fr40, 1000, 1, &t, NULL), 0);
    const char *s = "Je n'en ai jamais douté.";
    ak_ids ids = {0};
    cr_assert_eq(ak_tokenizer_encode(t, s, &ids, NULL), 0);
    cr_assert_eq(ids.n, 8);
    for (size_t i = 0; i < ids.n; i++)
        cr_assert_neq(ids.v[i], AK_UNK);
    ak_strlist w = {0};
    cr_assert_eq(ak_tokenizer_words(t, ids.v, ids.n, &w, NULL), 0);
    cr_assert_eq(w.n, 8);
    cr_assert_str_eq(w.v[6], "douté");
    char *d = ak_tokenizer_detok(t, ids.v, ids.n, 1, NULL);
    cr_assert_str_eq(d, s);
    free(d);
    d = ak_tokenizer_detok(t, ids.v, ids.n, 0, NULL);
    cr_assert_str_eq(d, "Je n' en ai jamais douté.");
    free(d);
    ak_strlist_free(&w);
    ak_ids_free(&ids);
    ak_tokenizer_free(t);
}

Test(text_tokenizer, char_tokens_are_code_points_with_visible_spaces)
{
    ak_tokenizer *t = train(AK_TOK_CHAR, 1000);
    const ak_vocab *v = ak_tokenizer_vocab(t);
    cr_assert_str_eq(ak_vocab_token(v, 4), AK_CHAR_SPACE, "the space is the most frequent character");
    cr_assert_neq(ak_vocab_find(v, "ê", strlen("ê")), -1);
    const char *s = "Vous êtes-vous blessée ?";
    ak_ids ids = {0};
    cr_assert_eq(ak_tokenizer_encode(t, s, &ids, NULL), 0);
    cr_assert_eq(ids.n, 24, "one id per code point");
    cr_assert_eq(ids.v[4], 4);
    char *d = ak_tokenizer_detok(t, ids.v, ids.n, 0, NULL);
    cr_assert_str_eq(d, s);
    free(d);
    ak_ids_free(&ids);
    /* tab and no-break space become the space token; unseen characters become <unk> */
    cr_assert_eq(ak_tokenizer_encode(t, "a\t\xC2\xA0Ω", &ids, NULL), 0);
    cr_assert_eq(ids.n, 4);
    cr_assert_eq(ids.v[1], 4);
    cr_assert_eq(ids.v[2], 4);
    cr_assert_eq(ids.v[3], AK_UNK);
    d = ak_tokenizer_detok(t, ids.v, ids.n, 0, NULL);
    cr_assert_str_eq(d, "a  <unk>");
    free(d);
    ak_ids_free(&ids);
    ak_tokenizer_free(t);
}

Test(text_tokenizer, invalid_utf8_fails_with_offset_and_leaves_ids_alone)
{
    ak_tokenizer *t = train(AK_TOK_WORD, 100);
    ak_ids ids = {0};
    ak_ids_push(&ids, 42, NULL);
    ak_err err = {{0}};
    cr_assert_eq(ak_tokenizer_encode(t, "Je suis l\xE0 !", &ids, &err), -1);
    cr_assert(strstr(err.msg, "invalid UTF-8 at byte 9"), "%s", err.msg);
    cr_assert_eq(ids.n, 1);
    const char *bad[] = {"ok", "Je \xC3"};
    ak_tokenizer *u = NULL;
    cr_assert_eq(ak_tokenizer_train(AK_TOK_WORD, bad, 2, 100, 2, &u, &err), -1);
    cr_assert(strstr(err.msg, "text 1: invalid UTF-8 at byte 3"), "%s", err.msg);
    ak_ids_free(&ids);
    ak_tokenizer_free(t);
}

Test(text_tokenizer, decode_rejects_ids_outside_the_vocabulary)
{
    ak_tokenizer *t = train(AK_TOK_WORD, 100);
    int32_t ids[] = {5, 9999};
    ak_err err = {{0}};
    cr_assert_null(ak_tokenizer_detok(t, ids, 2, 0, &err));
    cr_assert(strstr(err.msg, "id 9999 at position 1"), "%s", err.msg);
    ak_tokenizer_free(t);
}

Test(text_tokenizer, save_and_load_keep_the_encoding)
{
    char vpath[] = "/tmp/ak_test_tok_XXXXXX";
    int fd = mkstemp(vpath);
    cr_assert(fd >= 0);
    close(fd);
    for (int kind = AK_TOK_CHAR; kind <= AK_TOK_WORD; kind++) {
        ak_tokenizer *t = train((ak_tok_kind)kind, 500), *u = NULL;
        ak_err err = {{0}};
        cr_assert_eq(ak_tokenizer_save(t, vpath, NULL, &err), 0, "%s", err.msg);
        cr_assert_eq(ak_tokenizer_load((ak_tok_kind)kind, vpath, NULL, &u, &err), 0, "%s", err.msg);
        for (size_t i = 0; i < sizeof fr40 / sizeof *fr40; i++) {
            ak_ids a = {0}, b = {0};
            ak_tokenizer_encode(t, fr40[i], &a, NULL);
            ak_tokenizer_encode(u, fr40[i], &b, NULL);
            cr_assert_eq(a.n, b.n);
            cr_assert_arr_eq(a.v, b.v, a.n * sizeof *a.v);
            ak_ids_free(&a);
            ak_ids_free(&b);
        }
        ak_tokenizer_free(t);
        ak_tokenizer_free(u);
    }
    unlink(vpath);
}

Test(text_tokenizer, kind_names_parse)
{
    ak_tok_kind k;
    cr_assert_eq(ak_tok_kind_parse("bpe", &k, NULL), 0);
    cr_assert_eq(k, AK_TOK_BPE);
    cr_assert_str_eq(ak_tok_kind_name(AK_TOK_CHAR), "char");
    ak_err err = {{0}};
    cr_assert_eq(ak_tok_kind_parse("sentencepiece", &k, &err), -1);
    cr_assert(strstr(err.msg, "expected char, word or bpe"), "%s", err.msg);
}
