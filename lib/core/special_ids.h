/* Token ids every layer agrees on: the first four entries of every
 * vocabulary (the twin's layout), the padding the models mask out, and the
 * start and end markers of decoding. */
#ifndef AK_CORE_SPECIAL_IDS_H
#define AK_CORE_SPECIAL_IDS_H

enum { AK_PAD = 0, AK_UNK = 1, AK_BOS = 2, AK_EOS = 3, AK_NSPECIAL = 4 };

#endif
