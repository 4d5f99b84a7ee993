/**
 * The fault tests (test/faults): real gateway processes killed, restarted and cut off from Redis
 * and Postgres. They need a Postgres server (TEST_DATABASE_URL) and run one file at a time: each
 * file starts several processes of its own on this machine. `npm run test:faults`.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Each test bounds its own waits; this is the backstop of a whole scenario.
  testTimeout: 300000,
  maxWorkers: 1,
};
