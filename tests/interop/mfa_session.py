#!/usr/bin/env python3
"""An MFA sign-in with TOTP codes computed by pyotp, as a test suite would write it: set up a
software token (AssociateSoftwareToken, VerifySoftwareToken), prefer it (SetUserMFAPreference),
then sign in (InitiateAuth answered SOFTWARE_TOKEN_MFA, RespondToAuthChallenge with a fresh
code). Every code is computed from the SecretCode the run was handed, so a replay (whose
SecretCode is a placeholder) sends other codes than the recording. Prints what each step
answered, without tokens.

usage: mfa_session.py ENDPOINT_URL POOL_ID CLIENT_ID
(against moto: MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true, so that moto checks the codes)
"""
import json
import sys
import time

import pyotp

from session import make_client


def code(secret):
    # moto's secret is 60 bits: pad it to whole base32 blocks as Cognito's clients do.
    padded = secret + "=" * (-len(secret) % 8)
    # A code made in the last seconds of its 30-second step reaches moto in the next one on a
    # loaded machine and is refused: make it at the start of a step instead.
    while time.time() % 30 > 27:
        time.sleep(0.2)
    return pyotp.TOTP(padded).now()


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool, client_id = argv
    c = make_client(url)
    c.set_user_pool_mfa_config(
        UserPoolId=pool,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    auth = {"USERNAME": "carol", "PASSWORD": "Carol-Secret-1!"}
    signed_in = c.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth)
    access = signed_in["AuthenticationResult"]["AccessToken"]
    secret = c.associate_software_token(AccessToken=access)["SecretCode"]
    verified = c.verify_software_token(AccessToken=access, UserCode=code(secret), FriendlyDeviceName="phone")
    c.set_user_mfa_preference(
        AccessToken=access,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    challenged = c.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth)
    answered = c.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName=challenged["ChallengeName"],
        Session=challenged["Session"],
        ChallengeResponses={"USERNAME": "carol", "SOFTWARE_TOKEN_MFA_CODE": code(secret)},
    )
    out = {
        "verified": verified["Status"],
        "challenge": challenged["ChallengeName"],
        "signed_in": sorted(answered["AuthenticationResult"].keys()),
    }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
