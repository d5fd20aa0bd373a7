// Run by test/start_stop.test.js: records one call and ends without calling stop(). Node must
// still exit, and the proxy must stop (writing its cassette) when it does.
'use strict';

const { start } = require('..');

(async () => {
  const [cassette, upstream, bin] = process.argv.slice(2);
  const proxy = await start({ cassette, mode: 'record', upstream, bin });
  const { ListUsersCommand } = require('@aws-sdk/client-cognito-identity-provider');
  const { client } = require('.');
  const cognito = client(proxy.endpoint);
  await cognito.send(new ListUsersCommand({ UserPoolId: 'us-east-1_forgotten' }));
  cognito.destroy();
  process.stdout.write(proxy.endpoint);
})();
