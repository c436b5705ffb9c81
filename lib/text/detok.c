#include "text/detok.h"

#include <stdlib.h>
#include <string.h>

#include "text/textbuf.h"
#include "text/unicode.h"
#include "text/utf8.h"

int ak_is_punct_token(const char *w, size_t len)
{
    size_t pos = 0;
    if (len == 0)
        return 0;
    int32_t c = ak_utf8_next(w, len, &pos);
    return c >= 0 && pos == len && ak_uc_ispunct((uint32_t)c);
}

static int is_punct(const char *w)
{
    return ak_is_punct_token(w, strlen(w));
}

static int is_glue(const char *w)
{
    return strcmp(w, "'") == 0 || strcmp(w, "\xE2\x80\x99") == 0 || strcmp(w, "-") == 0;
}

char *ak_detok(const char *const *words, size_t n, int glue, ak_err *err)
{
    ak_sbuf b = {0};
    int rc = ak_sbuf_put(&b, "", 0, err);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const char *w = words[k];
        int punct = is_punct(w);
        int glued = glue && k >= 2 && is_glue(words[k - 1]) && !is_punct(words[k - 2]) && !punct;
        if (k > 0 && !punct && !glued) /* the twin tests its list of pieces, non-empty once k > 0 */
            rc = ak_sbuf_put(&b, " ", 1, err);
        if (rc == 0)
            rc = ak_sbuf_put(&b, w, strlen(w), err);
    }
    if (rc < 0) {
        ak_sbuf_free(&b);
        return NULL;
    }
    return b.v;
}
