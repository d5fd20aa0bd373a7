// Shared by the framework fixtures: the start options a run passes them through the environment
// (test/frameworks.test.js sets them), and the one call their tests make, ListUsers.
'use strict';

const { CognitoIdentityProviderClient, ListUsersCommand } = require('@aws-sdk/client-cognito-identity-provider');
const { clientConfig } = require('cognito-vcr');

// The pool the recording run lists, and one it never does.
const RECORDED = 'us-east-1_recorded';
const NEVER_RECORDED = 'us-east-1_neverrecorded';

/** useCognitoVcr's options: FIXTURE_CASSETTE; record mode and an upstream when recording. */
function options() {
  const { FIXTURE_CASSETTE, FIXTURE_MODE, FIXTURE_UPSTREAM } = process.env;
  return { cassette: FIXTURE_CASSETTE, mode: FIXTURE_MODE, upstream: FIXTURE_UPSTREAM };
}

/** The usernames of `pool`, asked through `endpoint` (a test's scope). */
async function listUsers(endpoint, pool) {
  const cognito = new CognitoIdentityProviderClient({ ...clientConfig(endpoint), maxAttempts: 1 });
  try {
    const { Users } = await cognito.send(new ListUsersCommand({ UserPoolId: pool }));
    return Users.map((user) => user.Username);
  } finally {
    cognito.destroy();
  }
}

module.exports = { RECORDED, NEVER_RECORDED, options, listUsers };
