// A node:test reporter for test/frameworks.test.js: one JSON line per test that ran, skipped or
// not, with its full name (`describe > test`), its file, status and error messages; Node 20 has
// no JSON reporter of its own.

/** The messages of a failure: the test's own error, which node:test wraps in its `cause`. */
function messages(error) {
  if (!error) return [];
  const cause = error.cause ?? error;
  if (typeof cause !== 'object') return [String(cause)];
  return [`${cause.name ?? 'Error'}: ${cause.message}`];
}

export default async function* ndjson(source) {
  const finished = []; // tests, named `describe > test` once their describe finishes
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const suite = data.details?.type === 'suite';
    if (suite) {
      for (const test of finished) {
        if (test.file === data.file && test.nesting === data.nesting + 1) {
          test.name = `${data.name} > ${test.name}`;
          test.nesting = data.nesting;
        }
      }
    }
    let status = type === 'test:pass' ? 'passed' : 'failed';
    if (data.skip !== undefined || data.todo !== undefined) status = 'skipped';
    finished.push({
      file: data.file, nesting: data.nesting, suite, name: data.name, status,
      messages: type === 'test:fail' ? messages(data.details?.error) : [],
    });
  }
  for (const test of finished) yield `${JSON.stringify(test)}\n`;
}
