/* Token counter: distinct byte strings with int64 counts, in first-seen order.
 * Ownership: the counter copies the strings; free with ak_counter_free.  Only allocation can fail. */
#ifndef AK_TEXT_COUNTER_H
#define AK_TEXT_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ak_counter ak_counter;

ak_counter *ak_counter_new(void); /* NULL when out of memory */
void ak_counter_free(ak_counter *c);

/* Adds k to the count of s[0..len). */
int ak_counter_add(ak_counter *c, const char *s, size_t len, int64_t k, ak_err *err);

size_t ak_counter_size(const ak_counter *c);               /* distinct strings */
const char *ak_counter_str(const ak_counter *c, size_t i); /* i < size, first-seen order */
size_t ak_counter_len(const ak_counter *c, size_t i);
int64_t ak_counter_count(const ak_counter *c, size_t i);
int64_t ak_counter_get(const ak_counter *c, const char *s, size_t len); /* 0 when absent */

#endif
