/* Work in progress. */
#include "crypto.h"
