/*
 * The PostgreSQL layer.  (Owned by the store/engine work: extended there.)
 */
#ifndef CSAM_COMMON_STORE_H
#define CSAM_COMMON_STORE_H

#include "log.h"
#include "result.h"

typedef struct csam_store csam_store;

#endif
