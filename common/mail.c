/* Work in progress. */
#include "mail.h"
