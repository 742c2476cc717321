// Runs every GraphQL-over-HTTP audit of the `graphql-http` package against a running server
// and prints each result. Exit code: 0 when every MUST audit passes (with --strict: when every
// SHOULD passes too), 1 when one fails, 2 when the audit could not run at all.
//
//   node scripts/http_audit.mjs <graphql url> <folder where graphql-http is installed> [--strict]
//
// scripts/http_audit.sh installs the package outside the repo, starts the server and calls
// this; the package is loaded from that folder, so the repo needs no node_modules.

import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const [url, packageDir] = args.filter((arg) => arg !== '--strict');
if (!url || !packageDir) {
  console.error('usage: node scripts/http_audit.mjs <graphql url> <graphql-http install dir> [--strict]');
  process.exit(2);
}

// Resolve the package from the throwaway install, not from this file's folder.
const require = createRequire(join(resolve(packageDir), 'package.json'));
const { auditServer } = require('graphql-http');
const { version } = require('graphql-http/package.json');

let results;
try {
  results = await auditServer({ url });
} catch (err) {
  // auditServer throws only on fatal problems (server unreachable, non-JSON where JSON is due).
  console.error(`audit could not run against ${url}: ${err?.stack ?? err}`);
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failing = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const line = `${result.status.padEnd(6)} ${result.id}  ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  let body = '';
  try {
    body = (await result.response.text()).slice(0, 300);
  } catch {
    body = '(body unreadable)';
  }
  console.log(`${line}\n         reason: ${result.reason}\n         status: ${result.response.status}, ` +
    `content-type: ${result.response.headers.get('content-type')}, body: ${body}`);
  failing.push(result);
}

console.log(
  `\ngraphql-http ${version} audit of ${url}: ${results.length} audits, ` +
    `${counts.ok} ok, ${counts.warn} warn (SHOULD), ${counts.notice} notice (MAY), ` +
    `${counts.error} error (MUST)`,
);
if (failing.length) {
  console.log('not ok: ' + failing.map((r) => `${r.id} (${r.status})`).join(', '));
}
process.exit(counts.error > 0 || (strict && counts.warn > 0) ? 1 : 0);
