// Run by test/frameworks.test.js with Jest: the documented wiring on a cassette that does not
// exist, so start() rejects; the start error must be what the test shows.
'use strict';

const path = require('node:path');
const { useCognitoVcr } = require('cognito-vcr/jest');

const vcr = useCognitoVcr({ cassette: path.join(__dirname, 'no-such-cassette.json'), mode: 'replay' });

test('needs the proxy', () => {
  expect(vcr.endpoint).toMatch(/\/scope\//);
});
