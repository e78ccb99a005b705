/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a step that makes a key hands back (the activation's credentials,
 * a key added later), released in one place: both flows and the app's key
 * use it, and none of them needs the others for it.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

void csam_credentials_outcome_free(struct csam_credentials_outcome *out)
{
    if (out == NULL)
        return;
    free(out->otpauth_uri);
    if (out->totp_secret != NULL) {
        csam_wipe(out->totp_secret, strlen(out->totp_secret));
        free(out->totp_secret);
    }
    out->otpauth_uri = NULL;
    out->totp_secret = NULL;
}
