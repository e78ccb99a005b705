/* Work in progress. */
#include "password.h"
