/* Work in progress. */
#include "engine.h"
