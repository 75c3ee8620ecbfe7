// Jest transformer: strips TypeScript with esbuild (fast on 2-core machines); `tsc` type-checks separately.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const out = transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: filename,
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    });
    return { code: out.code };
  },
};
