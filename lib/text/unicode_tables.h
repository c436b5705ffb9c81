/* Internal: generated Unicode property tables (unicode_tables.c), read only by text/unicode.c.
 * Every range list is sorted, disjoint and inclusive. */
#ifndef AK_TEXT_UNICODE_TABLES_H
#define AK_TEXT_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct ak_uc_lower_run {
    uint32_t lo, hi; /* inclusive */
    int32_t delta;   /* lower(c) = c + delta */
    uint32_t stride; /* 1: every code point of [lo, hi]; 2: lo, lo + 2, ... */
} ak_uc_lower_run;

extern const uint32_t ak_uc_word_ranges[][2];
extern const size_t ak_uc_word_ranges_n;
extern const uint32_t ak_uc_cased_ranges[][2];
extern const size_t ak_uc_cased_ranges_n;
extern const uint32_t ak_uc_ignorable_ranges[][2];
extern const size_t ak_uc_ignorable_ranges_n;
extern const ak_uc_lower_run ak_uc_lower_runs[];
extern const size_t ak_uc_lower_runs_n;

#endif
