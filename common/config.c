/* Work in progress. */
#include "config.h"
