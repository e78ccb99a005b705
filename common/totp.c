/* Work in progress. */
#include "totp.h"
