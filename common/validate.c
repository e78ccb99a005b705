/* Work in progress. */
#include "validate.h"
