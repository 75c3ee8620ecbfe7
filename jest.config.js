/** Jest runs TypeScript through esbuild (test/tools/jest-esbuild.cjs); type checking is `npm run typecheck`. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': '<rootDir>/test/tools/jest-esbuild.cjs' },
  testMatch: [
    '<rootDir>/core/src/**/*.test.ts',
    '<rootDir>/modules-api/src/**/*.test.ts',
    '<rootDir>/modules/*/src/**/*.test.ts',
    '<rootDir>/test/**/*.test.ts',
  ],
  moduleNameMapper: {
    '^@tessera/modules-api$': '<rootDir>/modules-api/src/index.ts',
    '^@tessera/modules-api/(.*)$': '<rootDir>/modules-api/src/$1',
    '^@tessera/core$': '<rootDir>/core/src/index.ts',
  },
  testTimeout: 60000,
  maxWorkers: 2,
};
