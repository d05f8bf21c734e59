// Lint rules: typescript-eslint's recommended set, type-aware where it matters
// (no floating promises, no misused promises).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/bin/**",
      "node_modules/**",
      "build/**",
      "sim/**",
      "bench/peer/**",
      "tests/harness/fixtures/*.js",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
      },
    },
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { project: ["./tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // The plugin (and its tarball bundle) loads heavy modules lazily (start-up time); tests load fixtures by path.
    files: ["provider/src/server/**/*.ts", "provider/src/bundle.ts", "tests/**/*.ts", "scripts/**"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
