/* String interning table: byte strings -> dense ids 0, 1, 2, ... in insertion order.
 *
 * Ownership: the table copies every interned string (NUL-terminated) into its own storage; pointers from
 * ak_strtab_str() stay valid until ak_strtab_free().  Strings may hold any bytes except that lookups and
 * copies are by (pointer, length), so embedded NULs are allowed but unusual.
 * Failure modes: only allocation failure (intern returns -1 and sets err). */
#ifndef AK_TEXT_STRTAB_H
#define AK_TEXT_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ak_strtab ak_strtab;

/* NULL when out of memory. */
ak_strtab *ak_strtab_new(void);
void ak_strtab_free(ak_strtab *t);

/* Id of s[0..len), or -1 when absent. */
int64_t ak_strtab_find(const ak_strtab *t, const char *s, size_t len);

/* Id of s[0..len), adding it when absent (*added, when non-NULL, says which); -1 when out of memory. */
int64_t ak_strtab_intern(ak_strtab *t, const char *s, size_t len, int *added, ak_err *err);

size_t ak_strtab_size(const ak_strtab *t);
const char *ak_strtab_str(const ak_strtab *t, int64_t id);
size_t ak_strtab_len(const ak_strtab *t, int64_t id);

/* FNV-1a, exposed for other hash tables of the text module. */
uint64_t ak_hash_bytes(const char *s, size_t len);

#endif
