// Jest's configuration for the fixtures in this directory (test/frameworks.test.js runs Jest with
// it): plain CommonJS, so no transform; the cache in the run's temporary directory.
'use strict';

module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.jest.js'],
  transform: {},
  ...(process.env.FIXTURE_CACHE && { cacheDirectory: process.env.FIXTURE_CACHE }),
};
