// Run by test/frameworks.test.js with Vitest: the documented wiring on a cassette that does not
// exist, so start() rejects; the start error must be what the file shows.
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { useCognitoVcr } from 'cognito-vcr/vitest';

const vcr = useCognitoVcr({ cassette: fileURLToPath(new URL('no-such-cassette.json', import.meta.url)), mode: 'replay' });

test('needs the proxy', () => {
  expect(vcr.endpoint).toMatch(/\/scope\//);
});
