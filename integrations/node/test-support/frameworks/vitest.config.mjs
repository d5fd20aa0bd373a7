// Vitest's configuration for the fixtures in this directory (test/frameworks.test.js runs Vitest
// with it); Vite's cache in the run's temporary directory, not under this one.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export default {
  cacheDir: process.env.FIXTURE_CACHE,
  test: {
    root: dirname(fileURLToPath(import.meta.url)),
    include: ['*.vitest.mjs'],
  },
};
