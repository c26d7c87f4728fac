import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { closeServer, listen, TimeoutError, withTimeout } from '../src/index.js';

test('withTimeout gives the result, or a TimeoutError naming what did not finish', async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000, 'seven'), 7);
  await assert.rejects(withTimeout(new Promise(() => undefined), 10, 'the camera open'), (error: unknown) => {
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, /the camera open did not finish within 10 ms/);
    return true;
  });
});

test('listen resolves with the free port it got; a taken port rejects with EADDRINUSE', async () => {
  const first = createServer();
  const port = await listen(first, 0, '127.0.0.1');
  assert.ok(port > 0);
  await assert.rejects(listen(createServer(), port, '127.0.0.1'), { code: 'EADDRINUSE' });
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  // An open connection would hold close() back; dropping it lets close finish.
  await closeServer(first, true);
  client.destroy();
});

/** A child that runs stopOnSignals with the given stop body, and reports how it exited. */
async function childStoppedBy(stopBody: string): Promise<{ code: number | null; output: string }> {
  const script = `
    import { stopOnSignals } from '@camqtt/service-kit';
    const log = { info: (a, b) => console.log(b ?? a), warn: (m) => console.log(m), error: (_f, m) => console.log(m) };
    stopOnSignals({ log, deadlineMs: 300, stop: async () => { ${stopBody} } });
    setInterval(() => {}, 1000);
    console.log('ready');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('ready') && !child.killed) child.kill('SIGTERM');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

test('SIGTERM runs the stop once and exits 0; a stop that hangs is cut off at the deadline; one that fails exits 1', async () => {
  const clean = await childStoppedBy('');
  assert.equal(clean.code, 0);
  assert.match(clean.output, /stopping\nstopped/);
  const hung = await childStoppedBy('await new Promise(() => {});');
  assert.equal(hung.code, 0);
  assert.match(hung.output, /stopping took too long; exiting anyway/);
  const failed = await childStoppedBy("throw new Error('disk gone');");
  assert.equal(failed.code, 1);
  assert.match(failed.output, /error while stopping/);
});
