/**
 * A child for crashable.test.ts: `flaky-server.ts DIR PORT FAILS` exits 1 before it is up on its
 * first FAILS starts (counted in DIR/starts), then serves 200 on PORT and says so on stdout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [dir, port, fails] = process.argv.slice(2) as [string, string, string];
const file = path.join(dir, 'starts');
let starts = 0;
try {
  starts = Number(readFileSync(file, 'utf8'));
} catch {
  // first start
}
writeFileSync(file, String(starts + 1));
if (starts < Number(fails)) {
  process.stderr.write(`start ${starts + 1}: failing on purpose\n`);
  process.exit(1);
}
http.createServer((_req, res) => res.end('ok')).listen(Number(port), '127.0.0.1', () => process.stdout.write('up\n'));
