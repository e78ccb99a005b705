/* Work in progress. */
#include "store.h"
