/* Work in progress. */
#include "template.h"
