import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: ['build/**', 'public/build/**', 'node_modules/**', '.data/**', 'coverage/**', '.cache/**', 'tests/fixtures/**'],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // Test helpers and CLIs may print.
    files: ['tests/**', 'server/**', 'db/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // App code never imports test code (Epic Stack habit).
    files: ['app/**', 'domain/**', 'adapters/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/tests/**', 'vitest', 'msw', 'msw/*'], message: 'Application code must not import test code.' },
          ],
        },
      ],
    },
  },
)
