/** Jest runs the TypeScript tests through ts-jest (transpile only; `make typecheck` type-checks). */
module.exports = {
  testEnvironment: "node",
  // google-protobuf (under @pulumi/pulumi) keeps its generated messages on the global `google`
  // object; Jest's soft global clean-up between files would only warn about every later access.
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  globalSetup: "<rootDir>/tests/support/global-setup.ts",
  globalTeardown: "<rootDir>/tests/support/global-teardown.ts",
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: false,
};
