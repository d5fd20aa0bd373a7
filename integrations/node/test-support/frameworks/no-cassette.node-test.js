// Run by test/frameworks.test.js with `node --test`: the documented wiring on a cassette that does
// not exist, so start() rejects; the start error must be what the test shows.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');
const { useCognitoVcr } = require('cognito-vcr/node-test');

const vcr = useCognitoVcr({ cassette: path.join(__dirname, 'no-such-cassette.json'), mode: 'replay' });

test('needs the proxy', () => {
  assert.match(vcr.endpoint, /\/scope\//);
});
