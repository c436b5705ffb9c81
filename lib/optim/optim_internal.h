/* Private to lib/optim/: the per-algorithm update loops that ak_optim_step
 * dispatches to. Each runs one step over the whole flat buffer, with
 * o->step already advanced to the number of the step being taken (1-based). */
#ifndef AK_OPTIM_OPTIM_INTERNAL_H
#define AK_OPTIM_OPTIM_INTERNAL_H

#include "optim/optim.h"

void ak_optim_sgd_update(ak_optim *o);
void ak_optim_adam_update(ak_optim *o);

#endif
