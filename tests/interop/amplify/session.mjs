// Amplify JS v6 (aws-amplify) fetchAuthSession() with an identity pool, through cognito-vcr:
// a guest session (GetId, GetCredentialsForIdentity), then a sign-in (USER_PASSWORD_AUTH) and
// the signed-in session (GetCredentialsForIdentity with Logins). For
// tests/integration/identity_pools.rs; aws-amplify (pinned in this folder's package-lock.json)
// is installed beside it by .ci/setup-node.
//
// usage: node session.mjs URL USER_POOL_ID CLIENT_ID IDENTITY_POOL_ID
//
// Prints one JSON document of what an app would check (shapes, never values); with
// COGNITO_VCR_SECRETS_OUT=FILE appends every credential and token it held to FILE.
import { appendFileSync } from "node:fs";
import { Amplify } from "aws-amplify";
import { signIn, fetchAuthSession } from "aws-amplify/auth";

const [url, userPoolId, userPoolClientId, identityPoolId] = process.argv.slice(2);
Amplify.configure({
  Auth: {
    Cognito: {
      userPoolId,
      userPoolClientId,
      identityPoolId,
      allowGuestAccess: true,
      userPoolEndpoint: url,
      identityPoolEndpoint: url,
    },
  },
});
const held = [];
const shape = (s) => {
  const c = s.credentials ?? {};
  held.push(c.accessKeyId, c.secretAccessKey, c.sessionToken);
  if (s.tokens?.idToken) held.push(s.tokens.idToken.toString());
  return {
    identity: /^us-east-1:[0-9a-f-]{36}$/.test(s.identityId ?? ""),
    access_key_id: /^ASIA[A-Z0-9]{16}$/.test(c.accessKeyId ?? ""),
    secret_key_40: (c.secretAccessKey ?? "").length === 40,
    session_token: (c.sessionToken ?? "").length > 0,
    expires_in_the_future: c.expiration > new Date(),
  };
};
const out = {};
const guest = await fetchAuthSession();
out.guest = shape(guest);
const signedIn = await signIn({
  username: "erin",
  password: "Erin-Secret-1!",
  options: { authFlowType: "USER_PASSWORD_AUTH" },
});
out.signed_in = signedIn.isSignedIn;
const session = await fetchAuthSession();
out.session = {
  ...shape(session),
  id_token: !!session.tokens?.idToken,
  same_identity_as_guest: session.identityId === guest.identityId,
};
if (process.env.COGNITO_VCR_SECRETS_OUT) {
  appendFileSync(
    process.env.COGNITO_VCR_SECRETS_OUT,
    held.filter((v) => typeof v === "string" && v.length > 0).map((v) => `${v}\n`).join(""),
  );
}
console.log(JSON.stringify(out));
