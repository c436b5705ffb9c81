#include "decode/cli_opt.h"

#include <string.h>

static int in_list(const char *const *l, const char *s, size_t n)
{
    for (int i = 0; l[i]; i++)
        if (strlen(l[i]) == n && strncmp(l[i], s, n) == 0)
            return 1;
    return 0;
}

int ak_cli_option(int argc, char **argv, int *i, const char *const *valued, const char *const *flags,
                  char name[AK_OPT_NAME_MAX], const char **value, ak_err *err)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    int takes_value = nlen < AK_OPT_NAME_MAX && in_list(valued, a, nlen);
    if (nlen >= AK_OPT_NAME_MAX || !(takes_value || in_list(flags, a, nlen)))
        return ak_errorf(err, "unknown option '%.*s' (see --help)", (int)(nlen < 64 ? nlen : 64), a);
    memcpy(name, a, nlen);
    name[nlen] = '\0';
    *value = NULL;
    if (takes_value) {
        if (eq)
            *value = eq + 1;
        else if (*i + 1 < argc)
            *value = argv[++*i];
        else
            return ak_errorf(err, "%s needs a value (see --help)", name);
    } else if (eq) {
        return ak_errorf(err, "%s takes no value", name);
    }
    return 0;
}
