// The npm packages as they are published, staged into a folder for `npm pack` / `npm publish`
// (used by .ci/package and integrations/ci/release.yml, so both ship the same thing):
//   node .ci/npm-stage.js helper DIR VERSION              the helper, naming every platform's package
//   node .ci/npm-stage.js platform DIR VERSION PLATFORM   a platform's package (its bin/ filled by the caller)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** The platforms a binary package is published for (Node's process.platform-process.arch). */
const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'];

const [kind, dir, version, platform] = process.argv.slice(2);
fs.mkdirSync(dir, { recursive: true });
if (kind === 'helper') {
  const source = path.join(__dirname, '..', 'integrations', 'node');
  const pkg = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8'));
  // What `npm pack` of the helper's directory takes: the files its package.json lists.
  for (const file of pkg.files) {
    fs.cpSync(path.join(source, file), path.join(dir, file), { recursive: true });
  }
  const file = path.join(dir, 'package.json');
  delete pkg.private;
  delete pkg.devDependencies;
  delete pkg.scripts;
  pkg.version = version;
  pkg.optionalDependencies = Object.fromEntries(PLATFORMS.map((p) => [`@cognito-vcr/${p}`, version]));
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
} else if (kind === 'platform') {
  const [os, cpu] = platform.split('-');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: `@cognito-vcr/${platform}`,
    version,
    description: `The cognito-vcr binary for ${platform}`,
    license: 'MIT OR Apache-2.0',
    os: [os],
    cpu: [cpu],
    files: ['bin/'],
    preferUnplugged: true,
  }, null, 2) + '\n');
} else {
  console.error('usage: node .ci/npm-stage.js helper DIR VERSION | platform DIR VERSION PLATFORM');
  process.exit(2);
}
