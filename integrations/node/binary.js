// Where the cognito-vcr binary is: COGNITO_VCR_BIN, else this platform's npm package (an optional
// dependency of the published helper, named as esbuild names its own), else `cognito-vcr` on PATH.
'use strict';

/** The npm package that holds this platform's binary: `@cognito-vcr/linux-x64`... */
function platformPackage() {
  return `@cognito-vcr/${process.platform}-${process.arch}`;
}

/** The binary to run. */
function binaryPath() {
  if (process.env.COGNITO_VCR_BIN) return process.env.COGNITO_VCR_BIN;
  const name = process.platform === 'win32' ? 'cognito-vcr.exe' : 'cognito-vcr';
  try {
    return require.resolve(`${platformPackage()}/bin/${name}`);
  } catch {
    return 'cognito-vcr';
  }
}

/** Set by the npx shim for what it runs: a `cognito-vcr` on PATH that is the shim again. */
const SHIM_GUARD = 'COGNITO_VCR_NPM_SHIM';

module.exports = { binaryPath, platformPackage, SHIM_GUARD };
