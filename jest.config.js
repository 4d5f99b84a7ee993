/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/workers'],
  testMatch: ['**/*.test.ts'],
  // The fault tests kill real processes and take minutes: `npm run test:faults` (jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // Integration tests share one Redis and one Postgres server; each file isolates itself with its
  // own database and key prefix, so files may run in parallel.
  testTimeout: 60000,
  maxWorkers: 2,
};
